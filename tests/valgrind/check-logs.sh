#!/usr/bin/env bash
# check-logs.sh DIR - the verdict of the valgrind pass: reads every vg.PID.log vg-run left in DIR
# and fails if any process had a memcheck error, definitely or indirectly lost blocks, or ended
# without valgrind's final summary (killed by SIGKILL, or valgrind itself failed), so nothing is
# missed when a script ignores an exit status (servers stopped with SIGTERM). Prints the number of
# processes checked, errors and leaks, and the offending logs in full.
set -uo pipefail
dir=${1:?usage: check-logs.sh DIR}
shopt -s nullglob
logs=("$dir"/vg.*.log)
if ((${#logs[@]} == 0)); then
    echo "valgrind: no logs in $dir - nothing was checked" >&2
    exit 1
fi

# One line per log: errors definite-bytes indirect-bytes complete(0/1) program
summary() {
    awk '
        /Command: /        { if (!prog) { sub(/^==[0-9]+== Command: /, ""); prog = $1 } }
        /ERROR SUMMARY: /  { for (i = 1; i <= NF; i++) if ($i == "SUMMARY:") errors = $(i + 1); done = 1 }
        /definitely lost: / { for (i = 1; i <= NF; i++) if ($i == "lost:") def = $(i + 1) }
        /indirectly lost: / { for (i = 1; i <= NF; i++) if ($i == "lost:") ind = $(i + 1) }
        END {
            gsub(/,/, "", errors); gsub(/,/, "", def); gsub(/,/, "", ind)
            printf "%d %d %d %d %s\n", errors, def, ind, done, prog ? prog : "?"
        }' "$1"
}

checked=0 incomplete=0 errors=0 def=0 ind=0 bad=()
declare -A per_prog
for log in "${logs[@]}"; do
    read -r e d i complete prog < <(summary "$log")
    if [ "$complete" != 1 ]; then
        incomplete=$((incomplete + 1))
        bad+=("$log")
        continue
    fi
    checked=$((checked + 1))
    per_prog[$(basename "$prog")]=$((${per_prog[$(basename "$prog")]:-0} + 1))
    errors=$((errors + e)); def=$((def + d)); ind=$((ind + i))
    if [ "$e" -ne 0 ] || [ "$d" -ne 0 ] || [ "$i" -ne 0 ]; then
        bad+=("$log")
    fi
done

for log in "${bad[@]}"; do
    echo "==================== $log"
    cat "$log"
done
progs=$(for p in "${!per_prog[@]}"; do echo "$p ${per_prog[$p]}"; done | sort | awk '{printf "%s%s %s", sep, $2, $1; sep = ", "}')
echo "valgrind: $checked processes checked${progs:+ ($progs)}"
echo "valgrind: $errors errors, $def bytes definitely lost, $ind bytes indirectly lost"
if ((incomplete)); then
    echo "valgrind: $incomplete processes ended without valgrind's summary (killed?), not checked - see above"
fi
if ((${#bad[@]})); then
    echo "valgrind: FAILED (${#bad[@]} of ${#logs[@]} logs with findings or incomplete)"
    exit 1
fi
echo "valgrind: clean"
