#!/bin/sh
# The image's entrypoint: says plainly when the data directory cannot be written (a bind mount
# owned by another user), instead of letting the server fail on its first write.
set -eu
data_dir="${PAYSIM_DATA_DIR:-/data}"
if [ ! -d "$data_dir" ] || [ ! -w "$data_dir" ] || [ ! -x "$data_dir" ]; then
    uid="$(id -u)"
    gid="$(id -g)"
    echo "paysim: the data directory $data_dir is not writable by this container's user (uid $uid, gid $gid)." >&2
    echo "  For a bind mount, give it to that user on the host: sudo chown $uid:$gid DIR" >&2
    echo "  or run the container as the directory's owner: docker run --user \"\$(id -u):\$(id -g)\" ..." >&2
    exit 2
fi
exec "$@"
