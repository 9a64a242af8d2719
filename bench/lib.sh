# Helpers shared by the bench scripts (sourced, not run).

# free_port prints a loopback TCP port nothing listens on, never one it
# printed before. Ports are below the ephemeral range (32768-), where the
# load generator's and the servers' own outgoing connections are.
taken=" "
free_port() {
	local p
	while :; do
		p=$((10000 + RANDOM % 20000))
		[[ $taken == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			taken+="$p "
			echo "$p"
			return
		fi
	done
}
