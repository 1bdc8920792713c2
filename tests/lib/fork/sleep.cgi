#!/bin/sh
# A CGI script that takes long before its first byte.
sleep 120
printf 'Content-Type: text/plain\r\n\r\nlate\n'
