#!/usr/bin/env bash
# Starts kube-proxy (iptables mode) for k8s-local's node, once, and leaves it running beside the
# node's kubelet (as node.sh leaves its daemons); prints its health URL when it is healthy.
# Idempotent: a no-op while the one it started is alive. Builds it first (build.sh, cached).
#
# Why: k8s-local has no kube-proxy, and the API server calls a webhook registered by Service
# (`clientConfig.service`, as deploy/ registers ours) at the Service's ClusterIP (its ClusterIP
# service resolver), which only kube-proxy's DNAT rules lead to a pod. It programs this machine's
# iptables (nat table, KUBE-* chains, as the kubelet already does) for every Service of the
# cluster; --cleanup removes them: `$(build.sh) --cleanup` after stopping it.
#
# Flags, and why:
#   --cluster-cidr=10.244.0.0/24   node.sh's pod bridge: traffic to a ClusterIP from outside it
#                                  (the API server on the host) is masqueraded, so replies return.
#   --bind-address=10.244.0.1      the node's address (node.sh): kube-proxy takes its node IP from it.
#   --conntrack-*=0                leave the kernel's conntrack limits and timeouts as they are
#                                  (a shared machine; kube-proxy would otherwise write the sysctls).
#   --nodeport-addresses           NodePorts (none here) only on the node's address, never on eth0.
#   health and metrics on loopback only.
#
#   K8S_LOCAL_HOME (default ~/.cache/k8s-local); OTEL_INJECT_CACHE (default ~/.cache/otel-inject);
#   NODE_NAME=k8s-local-node
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K=${K8S_LOCAL_HOME:-$HOME/.cache/k8s-local}
C=${OTEL_INJECT_CACHE:-$HOME/.cache/otel-inject}/kube-proxy
NODE_NAME=${NODE_NAME:-k8s-local-node}
HEALTH=127.0.0.1:10256
bin=$("$here/build.sh")
mkdir -p "$C"
exec 9>"$C/.run.lock"
flock 9
pidfile=$C/kube-proxy.pid; log=$C/kube-proxy.log
alive() { local pid; [ -f "$pidfile" ] && pid=$(cat "$pidfile") && [ -n "$pid" ] && [ -d "/proc/$pid" ] \
  && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "kube-proxy"; }
healthy() { curl -fsS "http://$HEALTH/healthz" >/dev/null 2>&1; }
if ! alive; then
  [ -f "$K/kubeconfig" ] || { echo "kube-proxy: no $K/kubeconfig: run ../shared/k8s-local/up.sh first" >&2; exit 1; }
  # kube-proxy's iptables mode runs iptables-save/-restore (Debian's iptables, which the kubelet
  # already needs); conntrack only clears stale UDP entries, which no test here relies on.
  command -v iptables-restore >/dev/null || { echo "kube-proxy: iptables-restore missing (Debian's iptables)" >&2; exit 1; }
  setsid nohup "$bin" --kubeconfig="$K/kubeconfig" --proxy-mode=iptables \
    --hostname-override="$NODE_NAME" --cluster-cidr=10.244.0.0/24 --bind-address=10.244.0.1 \
    --healthz-bind-address="$HEALTH" --metrics-bind-address=127.0.0.1:10249 \
    --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 \
    --nodeport-addresses=10.244.0.1/32 >>"$log" 2>&1 < /dev/null 9>&- &
  # 9>&-: the daemon must not keep this script's lock (the next caller would wait forever).
  echo $! > "$pidfile"
fi
for _ in $(seq 1 30); do
  if healthy; then echo "http://$HEALTH/healthz"; exit 0; fi
  alive || break
  sleep 1
done
echo "kube-proxy: not healthy on $HEALTH (pid file $pidfile); last lines of $log:" >&2
tail -20 "$log" >&2
exit 1
