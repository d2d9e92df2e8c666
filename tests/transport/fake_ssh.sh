#!/bin/sh
# tests/transport/fake_ssh.sh - stands in for ssh in test_cluster_netns:
#   fake_ssh.sh NAMESPACE WORD...
# joins the words with spaces and hands the line to a shell in the
# namespace, with an empty environment (but PATH): what ssh does with its
# arguments on the remote host (the login shell parses them; nothing of the
# local environment goes along).
ns=$1
shift
exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  ip netns exec "$ns" /bin/sh -c "$*"
