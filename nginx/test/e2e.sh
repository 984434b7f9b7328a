#!/bin/bash
# End-to-end test of the web image against stand-in apps (test/standin.conf)
# on a throwaway docker network; only 127.0.0.1:$PORT is published.
#   make check-nginx (part of make test), or: bash nginx/test/e2e.sh  (IMG=foobar/web:dev PORT=18080)
#   WEB_OPTS="--read-only --tmpfs /run/nginx:uid=33,gid=33" bash nginx/test/e2e.sh
# Needs docker and curl on the host. Ends with "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
IMG=${IMG:-foobar/web:dev}; NET=webtest-net; PORT=${PORT:-18080}; u=http://127.0.0.1:$PORT
TLS_PORT=${TLS_PORT:-18443}; s=https://www.foobar.com:$TLS_PORT
H=(-H Host:www.foobar.com)
# HTTPS as a client sees it: the site's name (SNI, certificate check) at 127.0.0.1, trusting a
# throwaway CA that signed the certificate mounted below.
T=(--resolve "www.foobar.com:$TLS_PORT:127.0.0.1" --resolve "foobar.com:$TLS_PORT:127.0.0.1" --cacert "$TMP/ca.pem")
pass=0; fail=0
ok()  { pass=$((pass+1)); echo "ok   $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
check() { local name=$1; shift; if "$@" >"$TMP/out" 2>&1; then ok "$name"; else bad "$name"; sed "s/^/     /" "$TMP/out"; fi; }
standin() { docker run -d --name "$1" --network $NET --network-alias "${2:-app}" --entrypoint nginx \
  -v "$HERE/standin.conf:/tmp/standin.conf:ro" $IMG -c /tmp/standin.conf -g 'daemon off;' >/dev/null; }
cleanup() { docker rm -f webtest-web webtest-redirect webtest-a webtest-b webtest-c webtest-filler webtest-acme >/dev/null 2>&1; docker network rm $NET >/dev/null 2>&1; }
served_by() { curl -sS "${H[@]}" $u/api/echo | sed -n 's/.*served_by":"\([^"]*\)".*/\1/p'; }
hdr() { curl -sS -D- -o /dev/null "$@" | tr -d '\r'; }
wait_for() { local _; for _ in $(seq 50); do "$@" && return 0; sleep 0.1; done; return 1; }

trap 'cleanup; rm -rf "$TMP"' EXIT
cleanup; docker network create $NET >/dev/null
# A CA and a certificate for www.foobar.com and foobar.com, as TLS_DIR holds them (readable by
# the container's uid 33).
mkdir -m 755 "$TMP/certs"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=e2e-ca \
  -keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=www.foobar.com \
  -keyout "$TMP/certs/privkey.pem" 2>/dev/null \
  | openssl x509 -req -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -days 1 -out "$TMP/certs/fullchain.pem" \
      -extfile <(printf 'subjectAltName=DNS:www.foobar.com,DNS:foobar.com') 2>/dev/null
chmod 644 "$TMP/certs/privkey.pem"
# Plain HTTP serves the site here (HTTPS_REDIRECT_PORT empty, as in the cluster), so each check
# below runs over either; the redirect of the default setting is checked on a second container.
docker run -d --name webtest-web --network $NET -p 127.0.0.1:$PORT:8080 -p 127.0.0.1:$TLS_PORT:8443 \
  -e HTTPS_REDIRECT_PORT= -v "$TMP/certs:/etc/nginx/certs:ro" ${WEB_OPTS:-} $IMG >/dev/null
wait_for curl -fs -o /dev/null $u/nginx-health || { docker logs webtest-web; cleanup; echo "FAIL web did not start"; exit 1; }

# --- no app yet: placeholder, maintenance
check "start without app: / -> 503" [ "$(curl -sS -o /dev/null -w '%{http_code}' "${H[@]}" $u/)" = 503 ]
h=$(hdr "${H[@]}" $u/)
check "maintenance HTML has Retry-After: 5" grep -qx 'Retry-After: 5' <<<"$h"
check "maintenance HTML is text/html" grep -q '^Content-Type: text/html' <<<"$h"
check "maintenance HTML has CSP + X-Request-Id" bash -c 'grep -q "^Content-Security-Policy:" <<<"$1" && grep -q "^X-Request-Id:" <<<"$1"' _ "$h"
body=$(curl -sS "${H[@]}" $u/api/x)
check "api maintenance JSON" grep -q '"error":"maintenance"' <<<"$body"
h=$(hdr "${H[@]}" $u/api/x)
check "api maintenance 503 application/json + Retry-After" bash -c 'grep -q "^HTTP/1.1 503" <<<"$1" && grep -qx "Content-Type: application/json" <<<"$1" && grep -qx "Retry-After: 5" <<<"$1"' _ "$h"

# --- app appears
standin webtest-a
check "app appears: api flows within 2.5 s" wait_for bash -c "[ \"\$(curl -sS -o /dev/null -w '%{http_code}' -H Host:www.foobar.com $u/api/echo)\" = 200 ]"
sleep 0.3
check "site 200 once app is up" [ "$(curl -sS -o /dev/null -w '%{http_code}' "${H[@]}" $u/)" = 200 ]

# --- static site + headers
h=$(hdr "${H[@]}" $u/)
for x in 'X-Content-Type-Options: nosniff' 'X-Frame-Options: DENY' 'Referrer-Policy: strict-origin-when-cross-origin' 'Cross-Origin-Opener-Policy: same-origin' 'Cache-Control: no-cache'; do
  check "/ has '$x'" grep -qx "$x" <<<"$h"; done
check "/ has Permissions-Policy + CSP" bash -c 'grep -q "^Permissions-Policy:" <<<"$1" && grep -q "^Content-Security-Policy: default-src .self." <<<"$1"' _ "$h"
check "css cached 1h" grep -qx 'Cache-Control: max-age=3600' <<<"$(hdr "${H[@]}" $u/style.css)"
check "js gzip" grep -qx 'Content-Encoding: gzip' <<<"$(hdr -H 'Accept-Encoding: gzip' "${H[@]}" $u/app.js)"
check "robots.txt" grep -q 'Disallow: /api/' <<<"$(curl -sS "${H[@]}" $u/robots.txt)"
check "favicon.svg 200" [ "$(curl -sS -o /dev/null -w '%{http_code}' "${H[@]}" $u/favicon.svg)" = 200 ]
h=$(hdr -H Host:foobar.com "$u/a/b?c=1")
check "apex 301" grep -q '^HTTP/1.1 301' <<<"$h"
check "apex Location" grep -qx 'Location: http://www.foobar.com/a/b?c=1' <<<"$h"
check "unknown host 421 + body" bash -c '[ "$(curl -sS -w " %{http_code}" -H Host:evil.example '$u'/)" = "This server only serves www.foobar.com
 421" ]'
r=$(printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat >&3; cat <&3")
check "HTTP/1.0 without Host: 421 + body" bash -c 'grep -q "^HTTP/1.1 421" <<<"$1" && grep -q "only serves www.foobar.com" <<<"$1"' _ "$r"
check "health on default server" [ "$(curl -sS $u/nginx-health)" = ok ]
check "dotfile 404" [ "$(curl -sS -o /dev/null -w '%{http_code}' "${H[@]}" $u/.env)" = 404 ]
check "dotdir 404" [ "$(curl -sS -o /dev/null -w '%{http_code}' "${H[@]}" $u/foo/.git/config)" = 404 ]
h=$(curl -sS -D- "${H[@]}" $u/nope.html)
check "unknown path: HTML 404 page with headers" bash -c 'grep -q "^HTTP/1.1 404" <<<"$1" && grep -q "Page not found" <<<"$1" && grep -q "^X-Frame-Options: DENY" <<<"$1"' _ "$h"

# --- ACME HTTP-01 (conf.d/acme-challenge.conf): passed to acme:8402 for both names, else 404
c=/.well-known/acme-challenge/tok3n
check "ACME challenge without an acme service: 404" bash -c '[ "$(curl -sS -w " %{http_code}" -H Host:www.foobar.com '"$u$c"')" = "no ACME challenge is pending
 404" ]'
standin webtest-acme acme
answers() { [ "$(curl -sS -H "Host:$1" "$u$c")" = "key-authorization for $c, asked of $1" ]; }
check "ACME challenge for www.foobar.com answered by acme" wait_for answers www.foobar.com
check "ACME challenge for foobar.com answered by acme, not redirected" answers foobar.com
check "apex: the rest still 301" grep -q '^HTTP/1.1 301' <<<"$(hdr -H Host:foobar.com "$u/.well-known/other")"

# --- the default: plain HTTP redirected to HTTPS at the published port (HTTPS_REDIRECT_PORT),
# but the ACME challenge. A second container, its plain HTTP on $RPORT.
RPORT=$((PORT + 2)); r=http://127.0.0.1:$RPORT
docker run -d --name webtest-redirect --network $NET -p 127.0.0.1:$RPORT:8080 -e HTTPS_REDIRECT_PORT=9443 \
  -v "$TMP/certs:/etc/nginx/certs:ro" ${WEB_OPTS:-} $IMG >/dev/null
wait_for curl -fs -o /dev/null $r/nginx-health || bad "redirecting web did not start"
h=$(hdr -H Host:www.foobar.com "$r/a/b?c=1")
check "redirect: www over plain HTTP 301 to https://www at HTTPS_REDIRECT_PORT" bash -c 'grep -q "^HTTP/1.1 301" <<<"$1" && grep -qx "Location: https://www.foobar.com:9443/a/b?c=1" <<<"$1"' _ "$h"
check "redirect: no HSTS on plain HTTP" bash -c '! grep -qi "^Strict-Transport-Security" <<<"$1"' _ "$h"
check "redirect: the apex straight to https://www" grep -qx 'Location: https://www.foobar.com:9443/x' <<<"$(hdr -H Host:foobar.com:8080 "$r/x")"
check "redirect: the API too (POST)" grep -q '^HTTP/1.1 301' <<<"$(hdr -H Host:www.foobar.com -d '{}' "$r/api/posts")"
check "redirect: ACME challenge answered by acme, not redirected" bash -c '[ "$(curl -sS -H Host:foobar.com '"$r$c"')" = "key-authorization for '"$c"', asked of foobar.com" ]'
check "redirect: unknown host still 421" [ "$(curl -sS -o /dev/null -w '%{http_code}' -H Host:evil.example $r/)" = 421 ]
check "redirect: health on the default server" [ "$(curl -sS $r/nginx-health)" = ok ]
docker rm -f webtest-redirect webtest-acme >/dev/null
check "redirect to 443: the URL names no port" bash -c 'docker run --rm -e HTTPS_REDIRECT_PORT=443 --entrypoint sh '"$IMG"' -c "tls-watch --init >/dev/null 2>&1 && cat /run/nginx/http-redirect.conf" | grep -qx "  default \"\";"'
check "HTTPS_REDIRECT_PORT not a port: the container stops, naming it" bash -c 'out=$(docker run --rm -e HTTPS_REDIRECT_PORT=84x3 '"$IMG"' 2>&1); [ $? != 0 ] && grep -q "HTTPS_REDIRECT_PORT=84x3 is not a port" <<<"$out"'


# --- HTTPS (conf.d/tls.conf): the mounted certificate, Mozilla intermediate, HSTS, Secure cookies
check "HTTPS: / 200 with the mounted certificate, verified" [ "$(curl -sS -o /dev/null -w '%{http_code}' "${T[@]}" $s/)" = 200 ]
check "HTTPS: HTTP/2 by ALPN" [ "$(curl -sS -o /dev/null -w '%{http_version}' --http2 "${T[@]}" $s/)" = 2 ]
check "HTTPS: TLS 1.3" [ "$(curl -sS -o /dev/null -w '%{http_code}' --tlsv1.3 "${T[@]}" $s/)" = 200 ]
check "HTTPS: TLS 1.2" [ "$(curl -sS -o /dev/null -w '%{http_code}' --tlsv1.2 --tls-max 1.2 "${T[@]}" $s/)" = 200 ]
check "HTTPS: TLS 1.1 refused" bash -c '! openssl s_client -connect 127.0.0.1:'"$TLS_PORT"' -servername www.foobar.com -tls1_1 </dev/null >/dev/null 2>&1'
check "HTTPS: a CBC cipher refused (TLS 1.2)" bash -c '! openssl s_client -connect 127.0.0.1:'"$TLS_PORT"' -servername www.foobar.com -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA </dev/null >/dev/null 2>&1'
t=$(openssl s_client -connect 127.0.0.1:$TLS_PORT -servername www.foobar.com -tls1_2 </dev/null 2>/dev/null)
check "HTTPS: an ECDHE AEAD cipher, no session ticket (TLS 1.2)" bash -c 'grep -Eq "Cipher is ECDHE-ECDSA-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305)" <<<"$1" && ! grep -q "TLS session ticket:" <<<"$1"' _ "$t"
h=$(hdr "${T[@]}" $s/)
check "HTTPS: HSTS for two years" grep -qix 'strict-transport-security: max-age=63072000; includeSubDomains' <<<"$h"
check "plain HTTP: no HSTS" bash -c '! grep -qi "^Strict-Transport-Security" <<<"$1"' _ "$(hdr "${H[@]}" $u/)"
check "HTTPS: the app's cookie made Secure" grep -Eqi '^set-cookie: foobar_session=abc;.*; secure' <<<"$(hdr "${T[@]}" $s/api/cookie)"
check "plain HTTP: the cookie as the app set it" bash -c 'grep -qi "^Set-Cookie: foobar_session=abc" <<<"$1" && ! grep -qi "secure" <<<"$1"' _ "$(hdr "${H[@]}" $u/api/cookie)"
check "HTTPS: X-Forwarded-Proto https upstream" grep -q '"proto":"https"' <<<"$(curl -sS "${T[@]}" $s/api/echo)"
check "HTTPS: apex 301 to https://www, same port" grep -qix "location: https://www.foobar.com:$TLS_PORT/a?b=1" <<<"$(hdr "${T[@]}" "https://foobar.com:$TLS_PORT/a?b=1")"
check "HTTPS: unknown name 421" [ "$(curl -sS -o /dev/null -w '%{http_code}' -k --resolve "evil.example:$TLS_PORT:127.0.0.1" "https://evil.example:$TLS_PORT/")" = 421 ]
# A renewed certificate (another key and serial, written over the mounted files) is served
# after a graceful reload, without restarting nginx.
serial_served() { openssl s_client -connect 127.0.0.1:$TLS_PORT -servername www.foobar.com </dev/null 2>/dev/null | openssl x509 -noout -serial; }
old_serial=$(serial_served)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=www.foobar.com \
  -keyout "$TMP/new.key" 2>/dev/null \
  | openssl x509 -req -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -days 1 -out "$TMP/new.pem" \
      -extfile <(printf 'subjectAltName=DNS:www.foobar.com,DNS:foobar.com') 2>/dev/null
chmod 644 "$TMP/new.key"
cat "$TMP/new.pem" >"$TMP/certs/fullchain.pem"
# Half-written: the new certificate with the old key. Served as before until the key follows.
sleep 3
check "renewal half-written: the old certificate still served" [ "$(serial_served)" = "$old_serial" ]
cat "$TMP/new.key" >"$TMP/certs/privkey.pem"
new_serial=$(openssl x509 -in "$TMP/new.pem" -noout -serial)
serves_serial() { [ "$(serial_served)" = "$1" ]; }
check "renewed certificate served within 5 s" wait_for serves_serial "$new_serial"
check "renewal: nginx master not restarted" [ "$(docker exec webtest-web cat /run/nginx/nginx.pid)" = 1 ]
check "renewal: the new certificate verifies" [ "$(curl -sS -o /dev/null -w '%{http_code}' "${T[@]}" $s/)" = 200 ]

# --- API proxy
e=$(curl -sS -H 'X-Request-Id: abc.DEF_12-3' -H 'X-Forwarded-For: 6.6.6.6' "${H[@]}" $u/api/echo)
check "client X-Request-Id kept upstream" grep -q '"rid":"abc.DEF_12-3"' <<<"$e"
check "Host/XFP/XFF sent upstream" bash -c 'grep -q "\"host\":\"www.foobar.com\"" <<<"$1" && grep -q "\"proto\":\"http\"" <<<"$1" && ! grep -q 6.6.6.6 <<<"$1"' _ "$e"
check "client X-Request-Id returned" grep -qx 'X-Request-Id: abc.DEF_12-3' <<<"$(hdr -H 'X-Request-Id: abc.DEF_12-3' "${H[@]}" $u/api/echo)"
h=$(hdr -H 'X-Request-Id: bad id!' "${H[@]}" $u/api/echo)
check "bad X-Request-Id replaced" grep -Eqx 'X-Request-Id: [0-9a-f]{32}' <<<"$h"
check "app X-Request-Id/X-Frame-Options hidden" bash -c '[ "$(grep -c "^X-Request-Id:" <<<"$1")" = 1 ] && grep -qx "X-Frame-Options: DENY" <<<"$1" && ! grep -q bogus <<<"$1"' _ "$(hdr "${H[@]}" $u/api/none)"
check "app 404 JSON passes through" grep -q '"error":"not_found"' <<<"$(curl -sS "${H[@]}" $u/api/none)"
check "app's own 503 passes through" bash -c '[ "$(curl -sS -w " %{http_code}" -H Host:www.foobar.com '$u'/api/db-down)" = "{\"error\":\"database_unavailable\",\"message\":\"db down\"}
 503" ]'
check "POST 201" [ "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"author":"a","title":"b","body":"c"}' "${H[@]}" $u/api/posts)" = 201 ]
head -c 200000 /dev/zero | tr '\0' a >"$TMP/big"
h=$(curl -sS -D- -H 'Content-Type: application/json' --data-binary @"$TMP/big" "${H[@]}" $u/api/posts | tr -d '\r')
check "413 JSON" bash -c 'grep -q "^HTTP/1.1 413" <<<"$1" && grep -qx "Content-Type: application/json" <<<"$1" && grep -q payload_too_large <<<"$1" && grep -q "^X-Request-Id:" <<<"$1"' _ "$h"

# --- errors nginx generates itself: JSON in the API's shape under /api/, HTML elsewhere
# response_is STATUS TYPE TEXT: the response on stdin has that status line, Content-Type, a part
# of the body, and a request id.
response_is() {
  local r; r=$(tr -d '\r')
  grep -q "^HTTP/1.1 $1" <<<"$r" && grep -qx "Content-Type: $2" <<<"$r" && grep -q -- "$3" <<<"$r" \
    && grep -q "^X-Request-Id:" <<<"$r" || { echo "$r" | head -20; return 1; }
}
# error_is STATUS TYPE TEXT CURL-ARGS...: the same, of curl's answer.
error_is() { curl -sS -D- "${@:4}" | response_is "$1" "$2" "$3"; }
# Sign-ins, sign-ups, password changes: 1/s per address, bursts of 20 (conf.d/rate-limits.conf).
# Other methods and paths are not counted.
codes() { local _; for _ in $(seq "$1"); do curl -sS -o /dev/null -w '%{http_code}\n' "${@:2}"; done; }
check "GET /api/session is not rate-limited" bash -c '! grep -qx 429 <<<"$1"' _ "$(codes 30 "${H[@]}" $u/api/session)"
s=$(codes 30 -d '{}' -H 'Content-Type: application/json' "${H[@]}" $u/api/session)
check "sign-in POSTs: a burst of 20 passes, then 429" bash -c '[ "$(head -20 <<<"$1" | grep -c 429)" = 0 ] && [ "$(grep -c 429 <<<"$1")" -ge 5 ]' _ "$s"
check "rate-limited sign-up: 429 JSON + Retry-After" error_is 429 application/json '"error":"too_many_requests"' -d '{}' "${H[@]}" "$u/api/users"
check "a password change counts too: 429 JSON" error_is 429 application/json '"error":"too_many_requests"' -X PUT -d '{}' -H 'Content-Type: application/json' "${H[@]}" "$u/api/me/password"
check "posts are not rate-limited" [ "$(codes 5 -d '{}' "${H[@]}" $u/api/posts | grep -c 429)" = 0 ]
# Targets the app's parser refuses, sent raw (curl encodes non-ASCII and refuses control bytes,
# so a request written by hand): JSON 400 from nginx; the same bytes percent-encoded reach the app.
raw_400_json() {
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT" \
    && printf 'GET %s HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n' "$1" >&3 \
    && cat <&3) | response_is 400 application/json '"error":"bad_request"'
}
check "percent-encoded < \" \` and UTF-8 in a query reach the app" [ "$(curl -sS -o /dev/null -w '%{http_code}' "${H[@]}" "$u/api/echo?q=%3C%22%60%C3%A9")" = 200 ]
check "raw < in an /api/ query: 400 JSON" raw_400_json "/api/echo?q=<b>"
check "raw \" in an /api/ query: 400 JSON" raw_400_json '/api/echo?q="x"'
check "raw UTF-8 in an /api/ path: 400 JSON" raw_400_json "/api/users/$(printf '\303\251')/posts"
check "raw DEL in an /api/ query: 400 JSON" raw_400_json "/api/echo?q=$(printf '\177')"
long=$(head -c 20000 /dev/zero | tr '\0' a)
check "414 on /api/: JSON" error_is 414 application/json '"error":"uri_too_long"' "${H[@]}" "$u/api/$long"
check "414 elsewhere: HTML" error_is 414 'text/html; charset=utf-8' 'URI too long' "${H[@]}" "$u/$long"
check "headers too large on /api/: 400 JSON" error_is 400 application/json '"error":"bad_request"' "${H[@]}" -H "X-Big: $long" "$u/api/echo"
check "invalid Host on /api/: 400 JSON" error_is 400 application/json '"error":"bad_request"' -H 'Host: a/b' "$u/api/echo"
check "TRACE on /api/: 405 JSON" error_is 405 application/json '"error":"method_not_allowed"' "${H[@]}" -X TRACE "$u/api/echo"
check "TRACE elsewhere: 405 HTML" error_is 405 'text/html; charset=utf-8' 'Method not allowed' "${H[@]}" -X TRACE "$u/"
check "unknown Transfer-Encoding on /api/: 501 JSON" error_is 501 application/json '"error":"not_implemented"' "${H[@]}" -H 'Transfer-Encoding: gzip' -d x "$u/api/echo"
e=$(curl -sS "${H[@]}" $u/api/echo $u/api/echo $u/api/echo)
check "upstream keepalive (connection reused)" grep -q '"creq":"[2-9]' <<<"$e"
# The access log is buffered (flushed each second): wait for the line.
check "access log has rid/upstream/timings" wait_for bash -c 'docker logs webtest-web 2>/dev/null | grep -q "rid=abc.DEF_12-3 host=www.foobar.com upstream=[0-9.]*:8000 ustatus=200 urt=[0-9.]* rt=[0-9.]*"'

# --- app goes away: maintenance; recreated with a new IP: back without restarting nginx
docker rm -f webtest-a >/dev/null
c=$(curl -sS -o /dev/null -w '%{http_code}' "${H[@]}" $u/api/x)
check "app gone: api 503 at once (stale IP)" [ "$c" = 503 ]
check "app gone: site maintenance within 4 s" bash -c 'for i in $(seq 40); do [ "$(curl -sS -o /dev/null -w %{http_code} -H Host:www.foobar.com '$u'/)" = 503 ] && exit 0; sleep 0.1; done; exit 1'
docker run -d --name webtest-filler --network $NET --entrypoint sleep $IMG 120 >/dev/null
standin webtest-b
t0=$(date +%s%N)
check "recreated app (new IP) serves within 2.5 s" wait_for bash -c "[ \"\$(curl -sS -o /dev/null -w '%{http_code}' -H Host:www.foobar.com $u/api/echo)\" = 200 ]"
echo "     (took $(( ($(date +%s%N) - t0) / 1000000 )) ms)"
check "nginx master not restarted" [ "$(docker exec webtest-web cat /run/nginx/nginx.pid)" = 1 ]

# --- blue-green with upstream-pin
standin webtest-c
b=$(docker inspect -f '{{.Config.Hostname}}' webtest-b); cc=$(docker inspect -f '{{.Config.Hostname}}' webtest-c)
check "both blue and green in upstream" wait_for bash -c '[ "$(docker exec webtest-web sed -n "s/^# ips: //p" /run/nginx/upstream.conf | wc -w)" = 2 ]'
check "pin to unknown name fails" bash -c '! docker exec webtest-web upstream-pin no-such-container 2>/dev/null'
check "pin webtest-c" docker exec webtest-web upstream-pin webtest-c
check "after pin, all traffic to green" [ "$(for _ in $(seq 20); do served_by; done | sort -u)" = "$cc" ]
check "pin webtest-b" docker exec webtest-web upstream-pin webtest-b
check "after re-pin, all traffic to blue" [ "$(for _ in $(seq 20); do served_by; done | sort -u)" = "$b" ]
check "pin --clear" docker exec webtest-web upstream-pin --clear
check "after clear, both again" [ "$(for _ in $(seq 20); do served_by; done | sort -u | wc -l)" = 2 ]

# --- healthcheck & watcher restart
check "healthcheck ok" docker exec webtest-web healthcheck
watcher_pid() { docker exec webtest-web sh -c 'for f in /proc/[0-9]*/cmdline; do tr "\0" " " <$f | grep -q "^/bin/sh /usr/local/bin/upstream-watch *$" && basename ${f%/cmdline}; done' | head -1; }
wpid=$(watcher_pid)
check "watcher found and killed" docker exec webtest-web sh -c "kill ${wpid:-none}"
# The entrypoint restarts the watcher within a second: wait for a new one (5 s at most).
watcher_replaced() { w2=$(watcher_pid); [ -n "$w2" ] && [ "$w2" != "$wpid" ]; }
check "watcher restarted after kill" wait_for watcher_replaced
check "healthcheck ok again" docker exec webtest-web healthcheck

# --- graceful stop
t0=$(date +%s%N); docker stop webtest-web >/dev/null; ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "docker stop is quick and clean (${ms} ms, exit $(docker inspect -f '{{.State.ExitCode}}' webtest-web))" [ "$ms" -lt 5000 -a "$(docker inspect -f '{{.State.ExitCode}}' webtest-web)" = 0 ]
[ "$fail" = 0 ] || { echo "--- web container log (tail)"; docker logs webtest-web 2>&1 | tail -n 40; }
cleanup
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
