/*
 * admin_html: the admin page's HTML pieces: escaping, the page frame (head,
 * navigation, skip link), the CSRF field, and the embedded assets: one
 * stylesheet and one small script, served from the binary under
 * <mount>/assets/ (the Content-Security-Policy allows nothing else).  The
 * pages read and work without the script: it only checks the editors'
 * JSON and client_metadata's rules as you type; the server checks again.
 */
#include <string.h>

#include <json-c/json.h>

#include "admin_ctx.h"
#include "auth.h"

static const char css[] =
    ":root{--fg:#1b1b1b;--bg:#fff;--muted:#4a4a4a;--line:#8a8a8a;--accent:#0b57a4;"
    "--err:#a4000f;--ok:#155d27;--soft:#f2f4f7}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}\n"
    "a{color:var(--accent)}\n"
    ".skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;"
    "padding:4px 8px;z-index:2}\n"
    "header{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;padding:8px 16px;"
    "background:#102a43;color:#fff}\n"
    "header a,header .brand{color:#fff}header .brand{font-weight:700;margin-right:8px}\n"
    "header nav ul{display:flex;gap:16px;list-style:none;margin:0;padding:0}\n"
    "header form{margin-left:auto}\n"
    "header .who{font-size:14px;color:#d9e2ec}\n"
    "main{max-width:1100px;margin:0 auto;padding:16px}\n"
    "h1{font-size:1.6rem;margin:.4em 0}h2{font-size:1.2rem;margin:1.2em 0 .4em}\n"
    "label{display:block;font-weight:600;margin:.6em 0 .2em}\n"
    "input,select,textarea,button{font:inherit;color:inherit}\n"
    "input,select,textarea{border:1px solid var(--line);border-radius:4px;padding:6px 8px;"
    "background:#fff;max-width:100%}\n"
    "textarea{width:100%;min-height:10em;font-family:ui-monospace,monospace;font-size:14px}\n"
    "button,.button{display:inline-block;border:1px solid var(--accent);background:var(--accent);"
    "color:#fff;border-radius:4px;padding:6px 14px;cursor:pointer;text-decoration:none}\n"
    "button.secondary,.button.secondary{background:#fff;color:var(--accent)}\n"
    "button.danger{background:var(--err);border-color:var(--err)}\n"
    ":focus-visible{outline:3px solid #f5a623;outline-offset:2px}\n"
    ".hint{color:var(--muted);font-size:14px;margin:.2em 0}\n"
    ".error{color:var(--err);font-weight:600}\n"
    ".note{border-left:4px solid var(--ok);background:#eef7f0;padding:6px 10px}\n"
    ".card{border:1px solid #c8ccd0;border-radius:6px;padding:12px 16px;margin:12px 0}\n"
    ".search{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}\n"
    ".search .grow{flex:1 1 18em}.search input[type=search]{width:100%}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #d0d4d8;"
    "vertical-align:top;overflow-wrap:anywhere}\n"
    "th{background:var(--soft)}\n"
    "dl.props{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}\n"
    "dl.props dt{font-weight:600}dl.props dd{margin:0;overflow-wrap:anywhere}\n"
    ".pager{display:flex;gap:12px;align-items:center;margin:12px 0}\n"
    ".cols{display:grid;grid-template-columns:1fr 1fr;gap:16px}\n"
    "pre{background:var(--soft);padding:8px;overflow:auto;font-size:14px}\n"
    ".kv{display:grid;grid-template-columns:1fr 2fr;gap:6px}.kv input{width:100%}\n"
    ".actions{display:flex;flex-wrap:wrap;gap:8px;margin-top:12px}\n"
    "@media (max-width:700px){.cols{grid-template-columns:1fr}"
    "dl.props{grid-template-columns:1fr}dl.props dd{margin-bottom:6px}"
    ".hide-narrow{display:none}header form{margin-left:0}}\n";

static const char js[] =
    "'use strict';\n"
    "/* metakeep admin: checks as you type; the server checks again. */\n"
    "function mkJson(ta){\n"
    "  var out=document.getElementById(ta.getAttribute('data-live'));\n"
    "  var msg='';\n"
    "  try{var v=JSON.parse(ta.value);\n"
    "    if(v===null||typeof v!=='object'||Array.isArray(v))msg='The value must be a JSON object.';\n"
    "  }catch(e){msg='Not valid JSON: '+e.message;}\n"
    "  if(out)out.textContent=msg;\n"
    "  if(msg)ta.setAttribute('aria-invalid','true');else ta.removeAttribute('aria-invalid');\n"
    "}\n"
    "var KEY=/^[A-Za-z0-9 \\t:,\\-+=_*?\"\\/\\\\()<>@]{1,255}$/;\n"
    "function mkRows(form){\n"
    "  var out=document.getElementById('kv-live');var keys=form.querySelectorAll('input.k');\n"
    "  var vals=form.querySelectorAll('input.v');var n=0,msgs=[];\n"
    "  for(var i=0;i<keys.length;i++){var k=keys[i].value,v=vals[i].value;\n"
    "    if(k===''&&v==='')continue;n++;\n"
    "    if(!KEY.test(k))msgs.push('Row '+(i+1)+': a key is 1 to 255 letters, digits, spaces or : , - + = _ * ? \" / \\\\ ( ) < > @.');\n"
    "    if(v.length>255)msgs.push('Row '+(i+1)+': a value is at most 255 characters ('+v.length+' now).');}\n"
    "  if(n>10)msgs.push('At most 10 keys ('+n+' now).');\n"
    "  if(out)out.textContent=msgs.length?msgs.join(' '):n+' of 10 keys used.';\n"
    "}\n"
    "document.addEventListener('DOMContentLoaded',function(){\n"
    "  document.querySelectorAll('textarea[data-live]').forEach(function(ta){\n"
    "    ta.addEventListener('input',function(){mkJson(ta);});});\n"
    "  var f=document.getElementById('kv-form');\n"
    "  if(f){f.addEventListener('input',function(){mkRows(f);});mkRows(f);}\n"
    "});\n";

static const struct adm_asset assets[] = {
	{ "admin.css", "text/css; charset=utf-8", css },
	{ "admin.js", "text/javascript; charset=utf-8", js },
};

const struct adm_asset *
adm_asset_find(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(assets) / sizeof(assets[0]); i++)
		if (strlen(assets[i].name) == n && memcmp(assets[i].name, name, n) == 0)
			return &assets[i];
	return NULL;
}

void
adm_esc(struct mk_buf *b, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *rep;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, rep);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

void
adm_url(struct mk_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~')
			buf_addc(b, (char)ch);
		else {
			buf_addc(b, '%');
			buf_addc(b, hex[ch >> 4]);
			buf_addc(b, hex[ch & 15]);
		}
	}
}

void
adm_head(struct admin_ctx *c, const char *title)
{
	struct mk_buf *b = &c->rs->body;

	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	adm_esc(b, title);
	buf_adds(b, " - metakeep admin</title>\n<link rel=\"stylesheet\" href=\"");
	adm_esc(b, c->base);
	buf_adds(b, "/assets/admin.css\">\n<script src=\"");
	adm_esc(b, c->base);
	buf_adds(b, "/assets/admin.js\" defer></script>\n</head>\n<body>\n"
	    "<a class=\"skip\" href=\"#main\">Skip to content</a>\n<header>\n"
	    "<span class=\"brand\">metakeep admin</span>\n");
	if (c->signed_in) {
		char scopes[512];

		buf_adds(b, "<nav aria-label=\"Main\"><ul>");
		buf_printf(b, "<li><a href=\"%s/users\">Users</a></li>", c->base);
		buf_printf(b, "<li><a href=\"%s/clients\">Clients</a></li>", c->base);
		if ((c->tok.scopes & SC_ALL) == SC_ALL)
			buf_printf(b, "<li><a href=\"%s/tokens\">Tokens</a></li>", c->base);
		buf_adds(b, "</ul></nav>\n");
		auth_scopes_format(c->tok.scopes, " ", scopes, sizeof(scopes));
		buf_printf(b, "<span class=\"who hide-narrow\" title=\"");
		adm_esc(b, scopes);
		buf_printf(b, "\">token %s</span>\n", c->tok.id);
		buf_printf(b, "<form method=\"post\" action=\"%s/logout\">", c->base);
		adm_csrf_field(c);
		buf_adds(b, "<button type=\"submit\" class=\"secondary\">Sign out</button></form>\n");
	}
	buf_adds(b, "</header>\n<main id=\"main\" tabindex=\"-1\">\n");
}

void
adm_foot(struct admin_ctx *c)
{
	buf_adds(&c->rs->body, "</main>\n</body>\n</html>\n");
}

void
adm_csrf_field(struct admin_ctx *c)
{
	buf_printf(&c->rs->body, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", c->csrf);
}

void
adm_note(struct admin_ctx *c)
{
	if (c->note[0] == '\0')
		return;
	buf_adds(&c->rs->body, "<p class=\"note\" role=\"status\">");
	adm_esc(&c->rs->body, c->note);
	buf_adds(&c->rs->body, "</p>\n");
}

void
adm_json_pretty(struct mk_buf *b, struct json_object *o)
{
	const char *t;

	if (o == NULL) {
		buf_adds(b, "{}");
		return;
	}
	t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
	buf_adds(b, t != NULL ? t : "{}");
}

void
adm_esc_json(struct mk_buf *b, struct json_object *o)
{
	struct mk_buf t = { 0 };

	adm_json_pretty(&t, o);
	buf_addc(&t, '\0');
	if (!t.failed)
		adm_esc(b, t.p);
	buf_free(&t);
}
