#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# closer top: batch mode (one line per interval, counts against ss) and the
# live screen under tmux (read with capture-pane; sort, port filter, resize,
# q quits).
. "$(dirname "$0")/../lib/lib.sh"
need_root
command -v tmux >/dev/null || { echo "SKIP: no tmux"; exit 0; }
tmp=$(mktemp -d)
SESSION="closer-top-$$"
trap 'tmux kill-session -t "$SESSION" 2>/dev/null; __cleanup; rm -rf "$tmp"' EXIT

netns_new NS
mkpile "$NS" server-tw 8080 30
mkpile "$NS" cw-not-closed 8081 5 && CW_PID=$PILE_PID
mkpile "$NS" client-tw 8083 7
TW=$(ip netns exec "$NS" ss -Htan state time-wait | wc -l)

# Batch: a header and exactly N lines; the counts are ss's.
ip netns exec "$NS" "$CLOSER" top --batch -n 3 -i 200ms > "$tmp/batch"
check_eq batch_lines "$(wc -l < "$tmp/batch")" 4
check_eq batch_header "$(head -1 "$tmp/batch" | awk '{print $1, $4, $5}')" "time time_wait close_wait"
check_eq batch_time_wait "$(awk 'NR==2{print $4}' "$tmp/batch")" "$TW"
check_eq batch_close_wait "$(awk 'NR==2{print $5}' "$tmp/batch")" 5
check_eq batch_first_delta_zero "$(awk 'NR==2{print $10}' "$tmp/batch")" "+0.0"
# Without a TTY (a pipe) it is batch mode too.
check_eq pipe_is_batch "$(ip netns exec "$NS" "$CLOSER" top -n 1 | wc -l)" 2
"$CLOSER" top --delay 5ms >/dev/null 2>&1; check_eq bad_delay_exit_2 $? 2
# One meaning per short flag (issue 15): -d is --duration (stop after DUR),
# -i the interval (--delay kept as its long alias), -p is not the port.
check_eq duration_stops "$(ip netns exec "$NS" "$CLOSER" top --batch -i 200ms -d 600ms | wc -l)" 4
check_eq delay_alias "$(ip netns exec "$NS" "$CLOSER" top --batch -n 2 --delay 200ms | wc -l)" 3
"$CLOSER" top --batch -n 1 -p 8080 >/dev/null 2>&1; check_eq short_p_not_port_exit_2 $? 2
check_eq port_long_form "$(ip netns exec "$NS" "$CLOSER" top --batch -n 1 --port 8080 | wc -l)" 2
# A long delay is slept whole (usleep's 32-bit microseconds wrapped
# 4294968ms, 71 minutes, to 0.7 ms): after 2 s only the first line is out.
(ip netns exec "$NS" timeout -s KILL 2 "$CLOSER" top --batch -n 2 --delay 4294968ms > "$tmp/long") 2>/dev/null
check_eq long_delay_not_wrapped "$(wc -l < "$tmp/long")" 2
"$CLOSER" top --help | grep -q -- '--batch'; check_eq help_exit_0 $? 0

# The live screen.
tmux new-session -d -s "$SESSION" -x 120 -y 50 "ip netns exec $NS $CLOSER top -i 300ms; echo EXITED; sleep 30"
screen() { tmux capture-pane -p -t "$SESSION"; }
wait_for 10 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q '^TIME_WAIT'" || fail screen_drawn "no state table"
screen > "$tmp/s1"
check_eq screen_time_wait "$(awk '$1=="TIME_WAIT"{print $2; exit}' "$tmp/s1")" "$TW"
check_eq screen_close_wait "$(awk '$1=="CLOSE_WAIT"{print $2; exit}' "$tmp/s1")" 5
check_eq screen_port_8080_tw "$(awk '$1=="8080"{print $2; exit}' "$tmp/s1")" 30
check_eq screen_process "$(awk -v p="$CW_PID" '$1==p{print $2, $3}' "$tmp/s1")" "mkpile 5"
check screen_dest_listed grep -q '^127.0.0.1:8083 ' "$tmp/s1"
check screen_sorted_by_tw grep -q 'sort TIME_WAIT' "$tmp/s1"

tmux send-keys -t "$SESSION" c
wait_for 5 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q 'sort CLOSE_WAIT'"; check_eq key_c_sorts $? 0
# Port filter: p 8081 Enter shows only that port in the port table.
tmux send-keys -t "$SESSION" p 8 0 8 1 Enter
wait_for 5 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q 'port 8081 '"; check_eq key_p_filters $? 0
screen > "$tmp/s2"
check_eq filter_hides_8080 "$(grep -c '^8080 ' "$tmp/s2")" 0
check_eq filter_shows_8081_cw "$(awk '$1=="8081"{print $3; exit}' "$tmp/s2")" 5
tmux send-keys -t "$SESSION" a
# Resize: the screen is redrawn to the new width (no line longer than it).
tmux resize-window -t "$SESSION" -x 60 -y 30 2>/dev/null || tmux resize-pane -t "$SESSION" -x 60 -y 30
sleep 0.8
check_eq resize_fits "$(screen | awk 'length > 60' | wc -l)" 0
check resize_still_shows_states bash -c "tmux capture-pane -p -t '$SESSION' | grep -q '^TIME_WAIT'"
tmux send-keys -t "$SESSION" q
wait_for 5 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q EXITED"; check_eq key_q_quits $? 0

# Issue 15: a wide screen shows the tables in two columns; 80x24 still works;
# colour on a TTY unless NO_COLOR or --color never; ? shows the keys.
tmux kill-session -t "$SESSION" 2>/dev/null
# A new session name each time: a tmux server that is still going away after
# its last session must not take the next one with it.
SESSION="closer-top-$$-wide"
tmux new-session -d -s "$SESSION" -x 200 -y 50 "ip netns exec $NS $CLOSER top -i 300ms; echo EXITED; sleep 30"
wait_for 10 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q '^TIME_WAIT'" || fail wide_drawn "no state table"
screen > "$tmp/w1"
check wide_two_columns grep -q '^STATE .* DESTINATION ' "$tmp/w1"
check_eq wide_fits "$(awk 'length > 200' "$tmp/w1" | wc -l)" 0
check_eq wide_process_right_column "$(grep -o "$CW_PID  *mkpile  *[0-9]*" "$tmp/w1" | awk '{print $2, $3}')" "mkpile 5"
check_eq wide_time_wait "$(awk '$1=="TIME_WAIT"{print $2; exit}' "$tmp/w1")" "$TW"
tmux capture-pane -p -e -t "$SESSION" > "$tmp/w1e"
# (tmux re-encodes attributes: bold and red may come as two sequences)
check colour_close_wait_red grep -qP '31m(\x1b\[[0-9;]*m)*CLOSE_WAIT ' "$tmp/w1e"
check colour_title_reverse grep -qP '\x1b\[[0-9;]*7mcloser top' "$tmp/w1e"
tmux send-keys -t "$SESSION" '?'
wait_for 5 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q 'closer top keys'"; check_eq key_help_shown $? 0
tmux send-keys -t "$SESSION" x
wait_for 5 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q '^TIME_WAIT'"; check_eq key_help_closes $? 0
tmux send-keys -t "$SESSION" q
tmux kill-session -t "$SESSION" 2>/dev/null
for mode in "NO_COLOR=1 $CLOSER top" "$CLOSER top --color never"; do
    SESSION="closer-top-$$-${mode%% *}"; SESSION=${SESSION//[^A-Za-z0-9-]/}
    tmux new-session -d -s "$SESSION" -x 200 -y 50 "ip netns exec $NS env $mode -i 300ms; sleep 30"
    wait_for 10 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q '^TIME_WAIT'"
    check_eq "no_colour_${mode%% *}" "$(tmux capture-pane -p -e -t "$SESSION" | grep -cP '\x1b\[[0-9;]*(7|31|33)m')" 0
    tmux kill-session -t "$SESSION" 2>/dev/null
done
"$CLOSER" top --color sometimes >/dev/null 2>&1; check_eq bad_color_exit_2 $? 2
# 80x24: one column, every table still has its header, nothing wider than 80.
SESSION="closer-top-$$-small"
tmux new-session -d -s "$SESSION" -x 80 -y 24 "ip netns exec $NS $CLOSER top -i 300ms; sleep 30"
wait_for 10 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q '^TIME_WAIT'"
screen > "$tmp/n1"
check_eq small_fits "$(awk 'length > 80' "$tmp/n1" | wc -l)" 0
# (table headers, not the LISTEN state's row)
HEADS='^(STATE +SOCKETS|PORT +TIME_WAIT|LISTEN +QUEUE|PID +COMMAND|DESTINATION +TIME_WAIT) '
check_eq small_tables "$(grep -cE "$HEADS" "$tmp/n1")" 5
check_eq small_time_wait "$(awk '$1=="TIME_WAIT"{print $2; exit}' "$tmp/n1")" "$TW"
tmux kill-session -t "$SESSION" 2>/dev/null

# Issue 23: at 80x24 the zero states share one line, ports and listeners come
# first with rows (the CLOSE_WAIT port 8081 among them), "? help" is in the
# title, and every table shows its first rows.
check small_zero_states_folded grep -qE '^zero: .*SYN_SENT' "$tmp/n1"
check_eq small_no_zero_state_rows "$(awk '$1 ~ /^(SYN_SENT|FIN_WAIT1|LAST_ACK|CLOSING)$/' "$tmp/n1" | wc -l)" 0
check small_title_has_help bash -c "head -1 '$tmp/n1' | grep -q '? help  q quit'"
check_eq small_close_wait_port "$(awk '$1=="8081"{print $3; exit}' "$tmp/n1")" 5
check small_listener_rows grep -qE '^127\.0\.0\.1:80(80|81|83) +[0-9]+ +[0-9]+$' "$tmp/n1"
check_eq small_process "$(awk -v p="$CW_PID" '$1==p{print $2, $3}' "$tmp/n1")" "mkpile 5"
check_eq small_order "$(grep -oE "$HEADS" "$tmp/n1" | awk '{print $1}' | paste -sd,)" \
    "STATE,PORT,LISTEN,PID,DESTINATION"

# -n and -d on a terminal: the screen stops after N intervals, and the last
# screen stays on it (drawn outside the alternate screen).
for stop in "-n 2" "-d 600ms"; do
    SESSION="closer-top-$$-stop${stop//[^a-z0-9]/}"
    tmux new-session -d -s "$SESSION" -x 80 -y 24 "ip netns exec $NS $CLOSER top -i 300ms $stop; echo EXITED; sleep 30"
    wait_for 10 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q EXITED"
    check_eq "screen_stops_${stop//[^a-z0-9]/}" $? 0
    check "screen_last_frame_kept_${stop//[^a-z0-9]/}" bash -c "tmux capture-pane -p -t '$SESSION' | grep -q '^TIME_WAIT'"
    tmux kill-session -t "$SESSION" 2>/dev/null
done

# --all-netns at 80 columns: tw/s and cw/s kept, nothing wider than 80, and
# ? shows the keys there too.
SESSION="closer-top-$$-nsnarrow"
tmux new-session -d -s "$SESSION" -x 80 -y 24 "ip netns exec $NS $CLOSER top --all-netns -i 300ms; sleep 30"
wait_for 10 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q '^NETNS '" || fail ns_narrow_drawn "no namespace table"
screen > "$tmp/ns80"
check ns_narrow_rates grep -qE '^NETNS .* tw/s +cw/s$' "$tmp/ns80"
check_eq ns_narrow_fits "$(awk 'length > 80' "$tmp/ns80" | wc -l)" 0
check ns_narrow_title_help bash -c "head -1 '$tmp/ns80' | grep -q '? help  q quit'"
tmux send-keys -t "$SESSION" '?'
wait_for 5 bash -c "tmux capture-pane -p -t '$SESSION' | grep -q 'closer top keys'"; check_eq ns_key_help_shown $? 0
tmux kill-session -t "$SESSION" 2>/dev/null
