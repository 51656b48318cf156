#!/usr/bin/env bash
# Bring up a one-node SLURM cluster on this machine (Debian 12, root): munge, mariadb + slurmdbd (so sacct
# works as on real clusters), slurmctld, slurmd. Idempotent; `down.sh` stops it. ~1 min with the install.
# The node declares SLURM_CPUS CPUs (default: this machine's) and partition `debug` (default) plus `short`
# (5 min limit, for the validation tests).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
HOST="$(hostname -s)"
CPUS="${SLURM_CPUS:-$(nproc)}"
MEM_MB="${SLURM_MEM_MB:-8000}"

if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null || ! command -v mariadbd >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client slurmdbd munge mariadb-server >/dev/null
fi

# the node name must resolve
getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST" >> /etc/hosts

# munge: a key readable by munge only, its run dir
mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
chown -R munge:munge /etc/munge /run/munge /var/log/munge /var/lib/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged

# mariadb with the accounting database
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
if ! pgrep -x mariadbd >/dev/null; then
  (mysqld_safe --skip-networking=0 --bind-address=127.0.0.1 >/var/log/mariadb-ci.log 2>&1 &)
  for _ in $(seq 60); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
mysql -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db; CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmci'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"

# configs
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
chown slurm:slurm /var/spool/slurmctld /var/log/slurm
sed -e "s/@HOST@/$HOST/g" -e "s/@CPUS@/$CPUS/g" -e "s/@MEM_MB@/$MEM_MB/g" "$HERE/slurm.conf.in" > /etc/slurm/slurm.conf
cp "$HERE/slurmdbd.conf" /etc/slurm/slurmdbd.conf
chown slurm:slurm /etc/slurm/slurmdbd.conf && chmod 0600 /etc/slurm/slurmdbd.conf
printf "CgroupPlugin=cgroup/v1\n" > /etc/slurm/cgroup.conf

pgrep -x slurmdbd >/dev/null || /usr/sbin/slurmdbd
for _ in $(seq 60); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.5; done
sacctmgr -i -Q add cluster curiosft-ci >/dev/null 2>&1 || true
pgrep -x slurmctld >/dev/null || /usr/sbin/slurmctld
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd
for _ in $(seq 120); do
  state="$(sinfo -h -N -o %T 2>/dev/null | head -1)"
  [ "$state" = "idle" ] && break
  [ "$state" = "down" ] || [ "$state" = "drained" ] && scontrol update nodename="$HOST" state=resume 2>/dev/null || true
  sleep 0.5
done
sinfo
sacct -n -X -S now-1minutes >/dev/null && echo "slurm: one-node cluster up on $HOST ($CPUS CPUs), accounting on"
