#!/usr/bin/env bash
# Stop the one-node cluster of up.sh (jobs are cancelled first); leaves the packages installed.
set -uo pipefail
command -v scancel >/dev/null && scancel --full --user="$(id -un)" 2>/dev/null
for daemon in slurmd slurmctld slurmdbd; do pkill -x "$daemon"; done
mysqladmin shutdown 2>/dev/null
pkill -x munged
for _ in $(seq 40); do
  alive=0
  for daemon in slurmd slurmctld slurmdbd mariadbd munged; do pgrep -x "$daemon" >/dev/null && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.25
done
echo "slurm: cluster stopped"
