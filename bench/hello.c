/*
 * hello: the ceiling for bench/run.  A pre-forked libfcgi responder that
 * does no work at all: every request, whatever its method, path or body,
 * gets "200" and the same JSON body (by default one the size of a typical
 * stored user; -b FILE serves that file's bytes instead, so bench/run can
 * hand it a real user as stored).  Same process model as metakeepd: one
 * listening unix socket, N workers blocked in FCGX_Accept_r on it.
 *
 * usage: hello -s SOCKET [-w WORKERS] [-b BODYFILE]
 * SIGTERM or SIGINT to the parent stops the workers and removes the socket.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define HELLO_MAX_WORKERS 256
#define HELLO_BODY_MAX (1 << 20)

static const char default_body[] =
    "{\"email\":\"u1234@example.com\",\"email_verified\":false,"
    "\"name\":\"u1234@example.com\",\"nickname\":\"u1234\","
    "\"user_id\":\"auth0|5f8a1e3c5f8a1e3c5f8a1e3c\","
    "\"user_metadata\":{\"theme\":\"dark\",\"language\":\"en\",\"timezone\":"
    "\"Europe/Berlin\",\"newsletter\":true,\"plan\":\"pro\",\"score\":1234,"
    "\"address\":{\"street\":\"1234 Main Street\",\"city\":\"Springfield\","
    "\"zip\":\"12345\",\"country\":\"US\"},\"tags\":[\"alpha\",\"beta\",\"gamma\"]},"
    "\"app_metadata\":{\"roles\":[\"user\"],\"tier\":2,\"customer_id\":"
    "\"cus_0000001234\",\"flags\":{\"beta\":true,\"mfa\":false}},"
    "\"identities\":[{\"connection\":\"Username-Password-Authentication\","
    "\"user_id\":\"5f8a1e3c5f8a1e3c5f8a1e3c\",\"provider\":\"auth0\","
    "\"isSocial\":false}],"
    "\"created_at\":\"2026-11-26T19:00:00.000Z\","
    "\"updated_at\":\"2026-11-26T19:00:00.000Z\"}";

static const char head[] =
    "Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n";

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static char *
read_file(const char *path, size_t *len)
{
	FILE *f;
	char *p;
	size_t n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if ((p = malloc(HELLO_BODY_MAX)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(p, 1, HELLO_BODY_MAX, f);
	fclose(f);
	/* Drop the trailing newline curl -o or echo may leave. */
	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	*len = n;
	return p;
}

static void
serve(int fd, const char *body, int len)
{
	FCGX_Request r;

	if (FCGX_InitRequest(&r, fd, 0) != 0)
		_exit(1);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_PutStr(head, (int)sizeof(head) - 1, r.out);
		FCGX_PutStr(body, len, r.out);
		FCGX_Finish_r(&r);
	}
	_exit(0);
}

int
main(int argc, char *argv[])
{
	const char *sock = NULL, *bodyfile = NULL;
	const char *body = default_body;
	size_t len = sizeof(default_body) - 1;
	pid_t pids[HELLO_MAX_WORKERS];
	struct sigaction sa;
	sigset_t mask, old;
	int ch, fd, i, n = 4;

	while ((ch = getopt(argc, argv, "s:w:b:")) != -1) {
		switch (ch) {
		case 's': sock = optarg; break;
		case 'w': n = atoi(optarg); break;
		case 'b': bodyfile = optarg; break;
		default: goto usage;
		}
	}
	if (sock == NULL || n < 1 || n > HELLO_MAX_WORKERS)
		goto usage;
	if (bodyfile != NULL && (body = read_file(bodyfile, &len)) == NULL) {
		perror(bodyfile);
		return 1;
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "hello: FCGX_Init failed\n");
		return 1;
	}
	unlink(sock);
	if ((fd = FCGX_OpenSocket(sock, 128)) < 0) {
		fprintf(stderr, "hello: cannot listen on %s\n", sock);
		return 1;
	}
	/* The web server's workers may run as another user. */
	chmod(sock, 0666);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old);
	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) == -1) {
			perror("fork");
			n = i;
			stop = 1;
			break;
		}
		if (pids[i] == 0) {
			sigprocmask(SIG_SETMASK, &old, NULL);
			serve(fd, body, (int)len);
		}
	}
	while (!stop)
		sigsuspend(&old);
	for (i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < n; i++)
		while (waitpid(pids[i], NULL, 0) == -1 && errno == EINTR)
			;
	unlink(sock);
	return 0;
usage:
	fprintf(stderr, "usage: hello -s SOCKET [-w WORKERS] [-b BODYFILE]\n");
	return 2;
}
