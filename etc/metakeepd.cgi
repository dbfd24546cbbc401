#!/bin/sh
# metakeepd.cgi: the program Apache runs for the API, as a CGI program
# (mod_cgi, etc/apache-cgi.conf) or as a FastCGI one that Apache starts
# itself (mod_fcgid, etc/apache-fcgid.conf).  metakeepd tells the two apart
# by itself: a listening socket on fd 0 means FastCGI, otherwise it answers
# the one CGI request in its environment and exits.
#
# Why a wrapper and not metakeepd itself: it names the configuration file
# (which names the database, outside the document root), and it drops the
# command-line arguments Apache makes from a query string without "="
# (the old ISINDEX rule of CGI), which must never reach metakeepd's option
# parser.
#
# Copy it next to nothing else (a directory of its own, outside the
# document root), make it executable (chmod 0755), and replace:
#   @METAKEEPD@  the full path of the metakeepd program
#   @CONFIG@     the full path of its configuration file, e.g.
#                /home/you/metakeep/metakeepd.conf with
#                  [metakeepd]
#                  database = /home/you/metakeep/db
#                and for mod_fcgid perhaps "workers = 1" (mod_fcgid sends
#                one request at a time to each process it starts, and
#                starts more of them under load).
exec @METAKEEPD@ -c @CONFIG@
