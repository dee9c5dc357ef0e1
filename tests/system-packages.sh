#!/bin/sh
# The system packages some tests need, installed when missing and possible (root and apt); the tests that
# need one skip and say why where it is not there:
# - Java 17, for the Spark tests (local PySpark);
# - a PostgreSQL server, for the Postgres tests (they start their own, on 127.0.0.1).
# Quiet, and never fails: the suite runs either way.
packages=""
command -v java >/dev/null 2>&1 || packages="$packages openjdk-17-jre-headless"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || packages="$packages postgresql"
if [ -n "$packages" ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # one word per package
    apt-get install -y -qq $packages >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq $packages >/dev/null 2>&1; }
fi
exit 0
