#!/usr/bin/env bash
# `make services`: RabbitMQ and PostgreSQL from Debian's packages, configured and running.
#
# Idempotent: it installs only what is missing, rewrites RabbitMQ's config files only when
# their content changes (and restarts RabbitMQ only then), and says what it did. Needs root.
#
# RabbitMQ (config in /etc/rabbitmq, one node per machine):
#   STOMP on 127.0.0.1:61613, Web-STOMP on 127.0.0.1:15674 at /ws, AMQP on 127.0.0.1:5672;
#   the publisher user $STOMP_LOGIN / $STOMP_PASSCODE (rights on amq.topic, routing keys
#   games.*); browsers log in with the JWT Django issues: the OAuth 2.0 backend checks it
#   with HS256 and $STOMP_TOKEN_SECRET, audience and scope prefix
#   $STOMP_TOKEN_RESOURCE_SERVER_ID, and takes extra scopes from the token's extra_scope
#   claim (see broker/tokens.py). No default user: a STOMP CONNECT without credentials fails.
#   The management API on 127.0.0.1:15672, for the site's user $STOMP_ADMIN_LOGIN /
#   $STOMP_ADMIN_PASSCODE: a kick cuts the kicked player off through it (closes the
#   connections of user player:<id>, deletes its stomp-subscription-player-<id>-… queues).
# PostgreSQL 15: database quiz, user quiz, password quiz (allowed to create the test
#   database), on 127.0.0.1:5432.
#
# `make services` passes the STOMP_* values from Django's settings, so the site and RabbitMQ
# agree on them.
set -euo pipefail

: "${STOMP_LOGIN:?}" "${STOMP_PASSCODE:?}" "${STOMP_TOKEN_SECRET:?}"
: "${STOMP_TOKEN_RESOURCE_SERVER_ID:?}" "${STOMP_ADMIN_LOGIN:?}" "${STOMP_ADMIN_PASSCODE:?}"
: "${STOMP_ANSWER_QUEUE:?}"

RABBITMQ_ETC=/etc/rabbitmq
RABBITMQ_OPEN_FILES=20000
PG_VERSION=15
APT_UPDATED=

say() { echo "==> $*"; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

install_missing() {
    local missing=()
    for package in "$@"; do installed "$package" || missing+=("$package"); done
    [ ${#missing[@]} -eq 0 ] && return
    if [ -z "$APT_UPDATED" ]; then apt-get update -qq; APT_UPDATED=1; fi
    say "installing ${missing[*]} from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Write $1 from stdin if its content differs; returns 0 when it changed.
write_if_changed() {
    local target=$1 new
    new=$(cat)
    if [ -f "$target" ] && [ "$(cat "$target")" = "$new" ]; then return 1; fi
    printf '%s\n' "$new" >"$target"
    say "wrote $target"
}

erlang_binary() {  # an Erlang binary literal holding $1
    local escaped=${1//\\/\\\\}
    printf '<<"%s">>' "${escaped//\"/\\\"}"
}

base64url() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }

rabbitmq_configure() {
    local changed=1 server_id
    server_id=$(erlang_binary "$STOMP_TOKEN_RESOURCE_SERVER_ID")
    write_if_changed "$RABBITMQ_ETC/enabled_plugins" <<EOF && changed=0
[rabbitmq_stomp,rabbitmq_web_stomp,rabbitmq_auth_backend_oauth2,rabbitmq_management].
EOF
    write_if_changed "$RABBITMQ_ETC/rabbitmq.conf" <<EOF && changed=0
# Written by scripts/services.sh (make services); edits are overwritten.
listeners.tcp.default = 127.0.0.1:5672
stomp.listeners.tcp.1 = 127.0.0.1:61613
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = 15674
management.tcp.ip = 127.0.0.1
management.tcp.port = 15672
auth_backends.1 = rabbit_auth_backend_oauth2
auth_backends.2 = rabbit_auth_backend_internal
EOF
    # The signing key is the token secret as a JSON Web Key of type oct (k = base64url).
    write_if_changed "$RABBITMQ_ETC/advanced.config" <<EOF && changed=0
%% Written by scripts/services.sh (make services); edits are overwritten.
[
 {rabbitmq_stomp, [{default_user, []}]},
 {rabbitmq_auth_backend_oauth2, [
   {resource_server_id, $server_id},
   {extra_scopes_source, <<"extra_scope">>},
   {key_config, [
     {default_key, <<"quiz">>},
     {algorithms, [<<"HS256">>]},
     {signing_keys, #{<<"quiz">> => {map, #{<<"kty">> => <<"oct">>,
                                          <<"alg">> => <<"HS256">>,
                                          <<"k">> => <<"$(base64url "$STOMP_TOKEN_SECRET")">>}}}}
   ]}
 ]}
].
EOF
    chgrp rabbitmq "$RABBITMQ_ETC/advanced.config"
    chmod 640 "$RABBITMQ_ETC/advanced.config"  # it holds the token secret
    return $changed
}

rabbitmq_running() { pgrep -u rabbitmq -x beam.smp >/dev/null; }

rabbitmq_start() {
    say "starting RabbitMQ (open files: $RABBITMQ_OPEN_FILES)"
    su rabbitmq -s /bin/sh -c \
        "ulimit -n $RABBITMQ_OPEN_FILES && cd /var/lib/rabbitmq && rabbitmq-server -detached"
    local waited=0
    until rabbitmqctl -q status >/dev/null 2>&1; do  # -detached returns before the node answers
        if [ $((waited += 1)) -gt 60 ]; then
            echo "RabbitMQ did not start in 60 s: see /var/log/rabbitmq/" >&2
            exit 1
        fi
        sleep 1
    done
    rabbitmqctl -q await_startup --timeout 60
}

# True when $1 / $2 log in to RabbitMQ's STOMP listener: a quick check (rabbitmqctl takes a
# second a call) that the node is up, the plugins loaded and the publisher is set up.
rabbitmq_stomp_login() {
    local reply=
    { exec 3<>/dev/tcp/127.0.0.1/61613; } 2>/dev/null || return 1
    printf 'CONNECT\naccept-version:1.2\nhost:/\nlogin:%s\npasscode:%s\n\n\0' "$1" "$2" >&3
    IFS= read -r -t 5 -d '' reply <&3 || true
    exec 3>&-
    [[ $reply == CONNECTED* && $reply == *server:RabbitMQ* ]]
}

# $STOMP_LOGIN gets what the built-in broker's publisher has: read and write games.* topics
# (reading needs the subscription queues RabbitMQ's STOMP plugin declares), the players'
# answers (the durable queue $STOMP_ANSWER_QUEUE that its consumers declare and bind to the
# answers.* topics: quiz/live/answers.py) and the replies.* topics it tells refusals on.
rabbitmq_publisher() {
    local queues="^(stomp-subscription-.*|$STOMP_ANSWER_QUEUE)\$"
    say "RabbitMQ user $STOMP_LOGIN and its permissions"
    rabbitmqctl -q add_user "$STOMP_LOGIN" "$STOMP_PASSCODE" >/dev/null 2>&1 ||
        rabbitmqctl -q change_password "$STOMP_LOGIN" "$STOMP_PASSCODE" >/dev/null
    rabbitmqctl -q set_permissions -p / "$STOMP_LOGIN" \
        "$queues" "$queues|^amq\.topic\$" "$queues|^amq\.topic\$" >/dev/null
    rabbitmqctl -q set_topic_permissions -p / "$STOMP_LOGIN" amq.topic \
        '^(games|replies)\.' '^(games|answers)\.' >/dev/null
}

# The reply to GET $1 on the management API as $2 / $3 (nothing when it does not answer).
rabbitmq_management_get() {
    local reply=
    { exec 3<>/dev/tcp/127.0.0.1/15672; } 2>/dev/null || return 0
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Basic %s\r\n\r\n' \
        "$1" "$(printf '%s:%s' "$2" "$3" | base64 -w0)" >&3
    IFS= read -r -t 5 -d '' reply <&3 || true
    exec 3>&-
    printf '%s' "$reply"
}

# $STOMP_ADMIN_LOGIN cuts a kicked player off: it closes the player's connections (DELETE
# /api/connections/username/<name>: RabbitMQ lets only the administrator tag close another
# user's connections) and deletes the player's subscription queues (configure on their names,
# stomp-subscription-player-<id>-…); no read or write anywhere. (The administrator tag may
# change anything through the management API, which listens on loopback only.)
RABBITMQ_ADMIN_TAG=administrator
RABBITMQ_ADMIN_CONFIGURE='^stomp-subscription-player-'

rabbitmq_admin_ready() {
    local whoami permissions
    whoami=$(rabbitmq_management_get /api/whoami "$STOMP_ADMIN_LOGIN" "$STOMP_ADMIN_PASSCODE")
    permissions=$(rabbitmq_management_get "/api/permissions/%2F/$STOMP_ADMIN_LOGIN" \
        "$STOMP_ADMIN_LOGIN" "$STOMP_ADMIN_PASSCODE")
    [[ $whoami == "HTTP/1."?" 200"* && $whoami == *"\"tags\":[\"$RABBITMQ_ADMIN_TAG\"]"* &&
        $permissions == *"\"configure\":\"$RABBITMQ_ADMIN_CONFIGURE\""* ]]
}

rabbitmq_admin() {
    say "RabbitMQ user $STOMP_ADMIN_LOGIN (tag $RABBITMQ_ADMIN_TAG) and its permissions"
    rabbitmqctl -q add_user "$STOMP_ADMIN_LOGIN" "$STOMP_ADMIN_PASSCODE" >/dev/null 2>&1 ||
        rabbitmqctl -q change_password "$STOMP_ADMIN_LOGIN" "$STOMP_ADMIN_PASSCODE" >/dev/null
    rabbitmqctl -q set_user_tags "$STOMP_ADMIN_LOGIN" "$RABBITMQ_ADMIN_TAG" >/dev/null
    rabbitmqctl -q set_permissions -p / "$STOMP_ADMIN_LOGIN" "$RABBITMQ_ADMIN_CONFIGURE" '' '' \
        >/dev/null
}

rabbitmq() {
    install_missing rabbitmq-server
    if rabbitmq_configure && rabbitmq_running; then
        say "RabbitMQ: configuration changed, restarting"
        rabbitmqctl -q stop >/dev/null
        while rabbitmq_running; do sleep 1; done
    fi
    rabbitmq_running || rabbitmq_start
    # always: its permissions grow with the game (the answers queue, the replies topics)
    rabbitmq_publisher
    rabbitmq_admin_ready || rabbitmq_admin
    echo "RabbitMQ: STOMP 127.0.0.1:61613, Web-STOMP ws://127.0.0.1:15674/ws," \
         "publisher $STOMP_LOGIN, browser tokens for '$STOMP_TOKEN_RESOURCE_SERVER_ID'," \
         "management http://127.0.0.1:15672 for $STOMP_ADMIN_LOGIN"
}

postgres_sql() { su postgres -c "psql -qtAX -v ON_ERROR_STOP=1" <<<"$1"; }

postgresql() {
    install_missing "postgresql-$PG_VERSION"
    if ! pg_lsclusters -h | grep -q "^$PG_VERSION main "; then
        say "creating the PostgreSQL $PG_VERSION cluster"
        pg_createcluster "$PG_VERSION" main >/dev/null
    fi
    if ! pg_lsclusters -h | grep -q "^$PG_VERSION main .* online "; then
        say "starting PostgreSQL $PG_VERSION"
        pg_ctlcluster "$PG_VERSION" main start
    fi
    if [ "$(postgres_sql "SELECT rolcreatedb FROM pg_roles WHERE rolname = 'quiz'")" != t ] ||
        ! PGPASSWORD=quiz psql -h 127.0.0.1 -U quiz -d quiz -qtAc 'SELECT 1' >/dev/null 2>&1; then
        say "PostgreSQL user quiz and database quiz"
        postgres_sql "
            SELECT 'CREATE ROLE quiz' WHERE NOT EXISTS
                (SELECT FROM pg_roles WHERE rolname = 'quiz') \\gexec
            ALTER ROLE quiz LOGIN CREATEDB PASSWORD 'quiz';
            SELECT 'CREATE DATABASE quiz OWNER quiz' WHERE NOT EXISTS
                (SELECT FROM pg_database WHERE datname = 'quiz') \\gexec"
    fi
    echo "PostgreSQL $PG_VERSION: postgres://quiz:quiz@127.0.0.1:5432/quiz"
}

if [ "$(id -u)" -ne 0 ]; then
    echo "make services installs and starts system services: run it as root" >&2
    exit 1
fi
rabbitmq
postgresql
