# tools/bench/growth.gp: draws docs/perf/growth.svg from the per-step TSV of tools/bench/growth.py.
#
#   gnuplot -e "data='/tmp/hooklog-growth/growth.tsv'; out='docs/perf/growth.svg'; \
#               title='one run, 2026-11-30'" tools/bench/growth.gp
#
# Top: batch ingest rate (left axis) and the server's CPU per ingested event (right axis, of it
# system time dashed) against the events in the log. Bottom: p50 latency of an events query by
# type, by entity and of a timeline read. x is logarithmic. Same style as tools/bench/run.sh's
# docs/perf/rates.svg. Columns by name (the TSV's header), so added columns do not move them.
# earlier='FILE' (optional): another run's TSV (same columns; sys_us_per_event may be absent),
# drawn thin and grey beside the first for a before/after; earlier_title names it.
if (!exists("data")) data = "/tmp/hooklog-growth/growth.tsv"
if (!exists("out")) out = "docs/perf/growth.svg"
if (!exists("title")) title = "one run"
if (!exists("earlier")) earlier = ""
if (!exists("earlier_title")) earlier_title = "earlier run"

set terminal svg size 820,820 dynamic font "sans,12" background rgb "white"
set output out
set datafile separator "\t"
set datafile columnheaders
set multiplot layout 2,1 title "How the cost grows with the log (".title.")"

set logscale x
set format x "%.0s%c"
set xlabel "events in the log"
set grid
set key outside bottom center horizontal maxrows 3
set lmargin 11
set rmargin 11

set ylabel "events/s (batch ingest, last step)"
set yrange [0:*]
set y2label "server CPU µs per event (last step)"
set y2range [0:*]
set y2tics
set ytics nomirror
plot data using "events":"ingest_rate" axes x1y1 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "ingest rate (events/s)", \
     data using "events":"cpu_us_per_event" axes x1y2 with linespoints lw 2 pt 5 lc rgb "#d62728" title "server CPU per event (µs)", \
     data using "events":"sys_us_per_event" axes x1y2 with linespoints dt 2 pt 4 lc rgb "#d62728" title "of it system time (µs)", \
     (earlier eq "" ? 1/0 : earlier) using "events":"ingest_rate" axes x1y1 with linespoints lw 1 pt 6 lc rgb "#7f7f7f" title earlier_title.": ingest rate", \
     (earlier eq "" ? 1/0 : earlier) using "events":"cpu_us_per_event" axes x1y2 with linespoints lw 1 pt 4 dt 3 lc rgb "#7f7f7f" title earlier_title.": CPU per event"

unset y2label
unset y2tics
set ytics mirror
set ylabel "p50 latency (ms, one connection)"
set yrange [0:*]
plot data using "events":"type_p50_ms" with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "events by type (limit 50)", \
     data using "events":"entity_p50_ms" with linespoints lw 2 pt 5 lc rgb "#d62728" title "events by entity (limit 50)", \
     data using "events":"timeline_p50_ms" with linespoints lw 2 pt 9 lc rgb "#2ca02c" title "entity timeline", \
     (earlier eq "" ? 1/0 : earlier) using "events":"entity_p50_ms" with linespoints lw 1 pt 4 dt 3 lc rgb "#7f7f7f" title earlier_title.": by entity"
unset multiplot
