# The guard: a small bash process between elect and the command (no Node: ~4 MB, starts in ms).
# It starts the command in a process group of its own and is the only one that signals that group.
# It kills the group when elect says so, when the deadline elect last gave it passes (elect frozen,
# or its keepalives unacknowledged), or when elect's end of the control pipe closes (elect killed).
#
# elect starts it while it still waits for its turn, so that nothing is left to start when the turn
# comes: the guard waits for "run" and exits, running nothing, if elect's end of the pipe closes first.
#
# Arguments: <kill signal> <kill grace, centiseconds> <cmd> [args...]
# fd 3, from elect: first  env <n>, then n NUL-terminated NAME=VALUE records (exported for the command),
#                   then   run <deadline>;
#                   then a line each: extend <deadline> | forward <SIGNAL> | stop <SIGNAL> <why...>
# fd 4, to elect, a line each:    started <pid> | spawn-failed <ENOENT|EACCES> | stopping <why...> | exited <status>
# Deadlines are centiseconds of /proc/uptime (CLOCK_BOOTTIME), which elect and the guard both read.
set -u
kill_signal=$1 grace=$2 deadline=0
shift 2

while read -r verb arg; do
  case $verb in
    env) for ((i = 0; i < arg; i++)); do IFS= read -r -d '' record && export "$record"; done ;;
    run) deadline=$arg; break ;;
  esac
done <&3
((deadline)) || exit 0

# bash's own notices (a job "Killed") are not the user's business: the guard's stderr goes nowhere,
# the command gets the real one (fd 5).
exec 5>&2 2> /dev/null

# Signals meant for the command reach the guard too (it shares elect's terminal process group), and
# elect forwards them; a write to a vanished elect must not kill the guard either. No-op traps, not
# ignores: ignored signals would be inherited by the command.
trap : INT TERM HUP QUIT PIPE

now=0
uptime_cs() { local up rest; read -r up rest < /proc/uptime; now=$((10#${up/./})); }
report() { echo "$*" >&4 2>/dev/null || true; }
signal_group() { kill -s "$1" -- "-$pid" 2>/dev/null; }

# 127 and 126 are decided here, as a shell would, so that bash prints no message of its own.
if [[ $1 == */* ]]; then
  if [[ ! -e $1 ]]; then report spawn-failed ENOENT; exit 0; fi
  if [[ -d $1 || ! -x $1 ]]; then report spawn-failed EACCES; exit 0; fi
elif ! type -P -- "$1" > /dev/null; then
  report spawn-failed ENOENT; exit 0
fi

set -m # the job gets a process group of its own, and keeps the guard's stdin
(
  if [[ -n ${ELECT_GUARD_BASH_ENV-} ]]; then export BASH_ENV=$ELECT_GUARD_BASH_ENV; fi
  unset ELECT_GUARD_BASH_ENV
  exec -- "$@" 2>&5 3<&- 4>&- 5>&-
) &
pid=$!
set +m
report started "$pid"

group_alive() { # is any process of the group alive (not a zombie)?
  local stat rest state ppid pgrp
  for stat in /proc/[0-9]*/stat; do
    read -r rest < "$stat" 2> /dev/null || continue
    read -r state ppid pgrp _ <<< "${rest##*) }"
    [[ $pgrp == "$pid" && $state != Z && $state != X ]] && return 0
  done
  return 1
}

stopping=0 kill_at=0 elect_gone=0
stop() {
  ((stopping)) && return
  stopping=1
  report stopping "${@:2}"
  signal_group "$1"
  uptime_cs
  kill_at=$((now + grace))
}

# Waits up to 50 ms for a line from elect, and acts on it. bash reads a pipe a byte at a time, and a
# time-out can fall inside a line: what was read so far is kept and completed by the next read.
pending=''
listen() {
  if ((elect_gone)); then sleep 0.05; return; fi
  local part verb arg why
  if read -r -t 0.05 -u 3 part; then
    read -r verb arg why <<< "$pending$part"
    pending=''
    case $verb in
      extend) deadline=$arg ;;
      forward) signal_group "$arg" ;;
      stop) stop "$arg" "$why" ;;
    esac
  elif (($? > 128)); then
    pending+=$part
  else # end of file: elect is gone
    elect_gone=1
    stop "$kill_signal" elect went away
  fi
}

# bash cannot wait for a child and read a pipe at once, so the guard splits in two while the command
# runs: a watcher (a subshell, which knows $pid from the fork) follows elect's lines and the deadline;
# the guard itself waits, and so hears at once when the command ends. A signal interrupts the wait
# (the traps are no-ops), hence the loop. A watcher that dies (killed from outside) leaves nobody to
# enforce the deadline: the group goes at once, as when the whole guard dies.
#
# A command that ended before the watcher was forked is no longer a job that `wait -n` waits for (bash
# has already reaped it and set its status aside for `wait $pid`): the wait would last as long as the
# watcher. So the watcher also ends once the command's leader is gone, which ends that wait too.
(
  trap : INT TERM HUP QUIT PIPE
  while kill -0 "$pid" 2> /dev/null; do
    uptime_cs
    ((!stopping && now >= deadline)) && stop "$kill_signal" the leadership deadline passed
    ((stopping && now >= kill_at)) && signal_group KILL
    listen
  done
) &
watcher=$!
while :; do
  wait -n
  status=$?
  kill -0 "$pid" 2> /dev/null || break
  if ! kill -0 "$watcher" 2> /dev/null; then
    report stopping the guard lost its watcher
    signal_group KILL
  fi
done
# The status came from the wait above unless a signal interrupted it just as the command ended.
wait "$pid" 2> /dev/null
reaped=$?
((reaped != 127)) && status=$reaped
kill -s KILL "$watcher" 2> /dev/null
wait "$watcher" 2> /dev/null

# The command's leader process ended: what it left in its group goes too, so that nothing started
# under this leadership outlives it. Only then may elect release the lease.
if signal_group 0 && group_alive; then
  signal_group "$kill_signal"
  uptime_cs
  give_up=$((now + grace))
  while group_alive; do
    uptime_cs
    ((now >= give_up)) && signal_group KILL
    ((now >= give_up + 100)) && break
    listen
  done
fi
report exited "$status"
