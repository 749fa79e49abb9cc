#!/bin/sh
# ctest's "http: crash soak (long)" (label soak): the crash soak of tests/http/crash_soak_test.cpp
# with HOOKLOG_SOAK_CYCLES cycles. Without that variable it is skipped (exit 77), so a plain
# `ctest` never runs it:  HOOKLOG_SOAK_CYCLES=30 ctest -L soak --output-on-failure
if [ -z "$HOOKLOG_SOAK_CYCLES" ]; then
  echo "skipped: set HOOKLOG_SOAK_CYCLES=N to run the long crash soak"
  exit 77
fi
exec "$1" "[.soak-long]"
