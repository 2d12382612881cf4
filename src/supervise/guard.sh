# The guard: a small bash process between elect and the command (no Node: ~4 MB, starts in ms).
# It starts the command and is the only one that signals the command's job: every process descended
# from it, whichever process group or session it moved into (timeout(1) makes a group of its own,
# sudo's use_pty a session, a daemon double-forks). It kills the job when elect says so, when the
# deadline elect last gave it passes (elect frozen, or its keepalives unacknowledged), or when elect's
# end of the control pipe closes (elect killed); and when the command ends, whatever it left behind.
#
# The job is a cgroup (v2) of its own where this process may make one (root, or a delegated subtree,
# as under a systemd unit with Delegate=yes): nothing it starts can leave it, and cgroup.kill ends it
# at once. Elsewhere the job is found in /proc: the command's process group, every process that
# carries the run's ELECT_RUN_ID in its environment, and their descendants.
#
# elect starts it while it still waits for its turn, so that nothing is left to start when the turn
# comes (the job's cgroup included, whose making costs milliseconds): the guard waits for "run" and
# exits, running nothing, if elect's end of the pipe closes first.
#
# Run as `bash -c 'eval "$ELECT_GUARD"' <label>`, the script in ELECT_GUARD: `ps` shows a short line.
# fd 3, from elect: first  job <run id>, then command <kill signal> <kill grace, centiseconds> <n>,
#                          then n NUL-terminated words (the command and its arguments); at its turn
#                          env <n>, then n NUL-terminated NAME=VALUE records (exported for the
#                          command; ELECT_RUN_ID=<run id> among them), then run <deadline>;
#                   then a line each: extend <deadline> | forward <SIGNAL> | stop <SIGNAL> <why...>
# fd 4, to elect, a line each:    started <pid> <cgroup directory, or -> | spawn-failed <ENOENT|EACCES>
#                                 | stopping <why...> | exited <status>
# Deadlines are centiseconds of /proc/uptime (CLOCK_BOOTTIME), which elect and the guard both read.
set -u
unset ELECT_GUARD
kill_signal='' grace=0 deadline=0

# The records are exported for the command alone, not in the guard: the tools the guard runs itself
# (sleep, grep, awk) must not carry the run's ELECT_RUN_ID, or a search for it would find them.
records=() run_id='' words=()
# Reads elect's messages up to the one named $1; fails if elect's end of the pipe closed first.
read_through() {
  local verb arg rest
  while read -r verb arg rest; do
    case $verb in
      job) run_id=$arg ;;
      command)
        kill_signal=$arg grace=${rest% *}
        for ((i = 0; i < ${rest##* }; i++)); do IFS= read -r -d '' word && words+=("$word"); done
        ;;
      env) for ((i = 0; i < arg; i++)); do IFS= read -r -d '' record && records+=("$record"); done ;;
      run) deadline=$arg ;;
    esac
    [[ $verb == "$1" ]] && return 0
  done <&3
  return 1
}
read_through command || exit 0
set -- "${words[@]}"

# bash's own notices (a job "Killed") are not the user's business, nor a refused mkdir: the guard's
# stderr goes nowhere, the command gets the real one (fd 5).
exec 5>&2 2> /dev/null

# A cgroup for the job, beneath the guard's own (so that a service manager still counts the job as
# the service's), unless ELECT_CGROUP=none. A probe moves a throwaway subshell in first: where that is
# not allowed, the job is found in /proc instead. The guard itself never enters it, so cgroup.kill
# cannot end the guard.
cgroup=''
if [[ ${ELECT_CGROUP-} != none ]]; then
  own=''
  while IFS= read -r line; do [[ $line == 0::/* ]] && own=${line#0::}; done < /proc/self/cgroup
  while read -r _ _ _ root point rest; do
    [[ -n $own && $rest == *" - cgroup2 "* ]] || continue
    if [[ $root != / ]]; then
      [[ $own == "$root" || $own == "$root"/* ]] || continue
      own=${own#"$root"}
    fi
    cgroup=${point%/}${own%/}/elect-$$-${run_id:0:8}
    break
  done < /proc/self/mountinfo
  if [[ -n $cgroup ]] && ! { mkdir "$cgroup" && (echo "$BASHPID" > "$cgroup/cgroup.procs"); }; then
    rmdir "$cgroup"
    cgroup=''
  fi
fi

# A guard that runs nothing takes its cgroup with it.
leave() {
  [[ -z $cgroup ]] || rmdir "$cgroup"
  exit 0
}
# Its turn, or its end.
read_through run && ((deadline)) || leave

# The guard runs in a session of its own, so that a signal to elect's process group (a terminal's
# Ctrl-C, timeout(1) around elect, kill -- -PGID) does not reach it: elect forwards what is meant for
# the command, and a SIGKILL of elect's group leaves the guard to stop the job. A signal sent to the
# guard itself, or a write to a vanished elect, must not end it either. No-op traps, not ignores:
# ignored signals would be inherited by the command.
trap : INT TERM HUP QUIT PIPE

now=0
uptime_cs() { local up rest; read -r up rest < /proc/uptime; now=$((10#${up/./})); }
report() { echo "$*" >&4 2>/dev/null || true; }

# 127 and 126 are decided here, as a shell would, so that bash prints no message of its own.
if [[ $1 == */* ]]; then
  if [[ ! -e $1 ]]; then report spawn-failed ENOENT; leave; fi
  if [[ -d $1 || ! -x $1 ]]; then report spawn-failed EACCES; leave; fi
elif ! type -P -- "$1" > /dev/null; then
  report spawn-failed ENOENT; leave
fi

set -m # the command gets a process group of its own, and keeps the guard's stdin
(
  # Past the probe, a move that fails is a fault: the command does not run outside its cgroup.
  [[ -z $cgroup ]] || echo "$BASHPID" > "$cgroup/cgroup.procs" || exit 126
  ((${#records[@]} == 0)) || export "${records[@]}"
  if [[ -n ${ELECT_GUARD_BASH_ENV-} ]]; then export BASH_ENV=$ELECT_GUARD_BASH_ENV; fi
  unset ELECT_GUARD_BASH_ENV
  exec -- "$@" 2>&5 3<&- 4>&- 5>&-
) &
pid=$!
set +m
report started "$pid" "${cgroup:--}"

# Sets `members` to the pids of the job's live processes. A zombie is dead: only its parent's wait is
# missing. The cgroup is not the whole answer: root may move a process of the job into another cgroup
# (cgexec, a write to a cgroup.procs file), so the search in /proc runs too, from the cgroup's
# processes as well as from the command's group and the marked.
members=()
job_members() {
  members=()
  # One pass over every /proc/<pid>/stat and the cgroup's processes, while a grep finds the marked
  # beside it (the two take milliseconds each, and one whole cycle of a job waits for both); then the
  # descendants of the command's group, the marked and the cgroup's. cat, not awk, opens the files:
  # mawk gives up on one that vanished since the glob, and the marked come over a pipe.
  mapfile -t members < <(cat /proc/[0-9]*/stat ${cgroup:+"$cgroup/cgroup.procs"} 2> /dev/null | awk -v group="$pid" '
    /^[0-9]+ \(/ {
      p = $0; sub(/ .*/, "", p)
      rest = $0; sub(/.*\) /, "", rest); split(rest, field, " ")
      state[p] = field[1]; parent[p] = field[2]
      if (field[3] == group) job[p] = 1
      next
    }
    /^[0-9]+$/ { job[$0] = 1 }
    /^\/proc\/[0-9]+\/environ$/ { p = $0; gsub(/[^0-9]/, "", p); job[p] = 1 }
    END {
      do { added = 0; for (p in parent) if (!(p in job) && (parent[p] in job)) { job[p] = 1; added = 1 } } while (added)
      for (p in job) if ((p in state) && state[p] != "Z" && state[p] != "X") print p
    }' - <([[ -z $run_id ]] || grep -lsaF -- "ELECT_RUN_ID=$run_id" /proc/[0-9]*/environ))
}

job_alive() {
  if [[ -n $cgroup ]]; then
    local key value
    while read -r key value; do [[ $key == populated ]] && ((value == 1)) && return 0; done < "$cgroup/cgroup.events"
  fi
  job_members
  ((${#members[@]} > 0))
}

# One signal for each process: the command's group at once (forks in flight included), then each
# process of the job outside it. A job that counts its signals must not see two.
signal_job() {
  # cgroup.kill (Linux 5.14) kills every process of the cgroup at once, forks in flight included; what
  # left the cgroup is found as below. A second SIGKILL is no signal a job can count.
  if [[ -n $cgroup && $1 == KILL ]]; then { echo 1 > "$cgroup/cgroup.kill"; } 2> /dev/null; fi
  kill -s "$1" -- "-$pid" 2> /dev/null
  job_members
  local member stat pgrp outside=()
  for member in "${members[@]}"; do
    read -r stat < "/proc/$member/stat" || continue
    read -r _ _ pgrp _ <<< "${stat##*) }"
    [[ $pgrp == "$pid" ]] || outside+=("$member")
  done
  ((${#outside[@]} == 0)) || kill -s "$1" -- "${outside[@]}" 2> /dev/null
}

# bash cannot wait for a child and read a pipe at once, so the guard splits in two while the command
# runs: a watcher (a subshell) follows elect's lines and the deadline, and asks the guard with a
# signal, which interrupts its wait, to stop the job (USR1) or kill it (USR2, once the grace is over).
# The guard waits for the command, so it hears at once when it ends, and does every stop and kill
# itself: one place knows when the SIGKILL is due, whether the stop came before the command ended or
# while what it left behind is swept up. The watcher repeats its request every 50 ms until the guard
# is done, so that none is lost between two waits. A watcher that dies (killed from outside) leaves
# nobody to enforce the deadline: the job goes at once, as when the whole guard dies.
# Set before the watcher exists, which may ask at once; a subshell does not inherit them.
kill_at=0 request='' trapped=0 killed=0
trap 'request=stop trapped=1' USR1
trap 'request=kill trapped=1' USR2
(
  trap : INT TERM HUP QUIT PIPE
  stopping=0 kill_at=0 elect_gone=0 pending=''
  stop() {
    ((stopping)) && return
    stopping=1
    report stopping "$@"
    uptime_cs
    kill_at=$((now + grace))
  }
  while :; do
    # A guard killed from outside leaves the job unguarded: it goes at once, and so does the watcher.
    if ! kill -0 $$ 2> /dev/null; then
      signal_job KILL
      for ((i = 0; i < 20; i++)); do job_alive || break; sleep 0.05; done
      [[ -z $cgroup ]] || rmdir "$cgroup"
      exit
    fi
    uptime_cs
    ((!stopping && now >= deadline)) && stop the leadership deadline passed
    if ((stopping)); then
      if ((now >= kill_at)); then kill -s USR2 $$; else kill -s USR1 $$; fi
    fi
    if ((elect_gone)); then sleep 0.05; continue; fi
    # Waits up to 50 ms for a line from elect. bash reads a pipe a byte at a time, and a time-out can
    # fall inside a line: what was read so far is kept and completed by the next read.
    if read -r -t 0.05 -u 3 part; then
      read -r verb arg why <<< "$pending$part"
      pending=''
      case $verb in
        extend) deadline=$arg ;;
        forward) signal_job "${arg#SIG}" ;;
        stop) stop "$why"; [[ $arg == SIGKILL ]] && kill_at=0 ;;
      esac
    elif (($? > 128)); then
      pending+=$part
    else # end of file: elect is gone
      elect_gone=1
      stop elect went away
    fi
  done
) &
watcher=$!

# Acts on the watcher's last request: the kill signal once, then SIGKILL when the grace is over.
act() {
  uptime_cs
  if [[ $request == kill ]] || ((kill_at && now >= kill_at)); then
    signal_job KILL
    killed=1
    ((kill_at)) || kill_at=$now
  elif [[ $request == stop ]] && ((!kill_at)); then
    signal_job "${kill_signal#SIG}"
    kill_at=$((now + grace))
  fi
  request=''
}

# A command that ended before the watcher was forked is no longer a job that `wait -n` waits for (bash
# set its status aside for `wait $pid` when it started the watcher), so it is looked for first. Once
# the watcher runs, the guard starts no job of its own: `wait -n` hears the command's end.
status=''
while kill -0 "$pid" 2> /dev/null; do
  if [[ -z $request ]]; then
    trapped=0
    wait -n
    code=$?
    # A wait that a request interrupted says nothing of the command.
    ((trapped)) || status=$code
  fi
  act
  if ! kill -0 "$watcher" 2> /dev/null; then
    report stopping the guard lost its watcher
    request=kill
    act
  fi
done
# The command's status, unless a wait above took it (or the watcher's, which ends only if killed).
wait "$pid" 2> /dev/null
reaped=$?
((reaped != 127)) && status=$reaped
# A request that interrupted the very wait that reaped the command loses its status in bash: it was
# stopped, then, by the guard's own signal.
if [[ -z $status ]]; then
  if ((killed)); then status=137; else status=$((128 + $(kill -l "${kill_signal#SIG}"))); fi
fi

# The command's leader process ended: what it left in its job goes too, so that nothing started under
# this leadership outlives it. Only then may elect release the lease. A stop already under way keeps
# its time for SIGKILL; a process that even SIGKILL does not end (stuck in the kernel) is given up on
# a second after it.
if job_alive; then
  if ((!kill_at)); then
    signal_job "${kill_signal#SIG}"
    uptime_cs
    kill_at=$((now + grace))
  fi
  while job_alive; do
    act
    ((now >= kill_at + 100)) && break
    sleep 0.05
  done
fi
# The job is dead: elect may release now, while the guard tidies up.
report exited "$status"
kill -s KILL "$watcher" 2> /dev/null
wait "$watcher" 2> /dev/null
[[ -z $cgroup ]] || rmdir "$cgroup"
