# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_flowctl_global_optspecs
    string join \n o/output= v/verbose q/quiet log-format= h/help V/version
end

function __fish_flowctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_flowctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_flowctl_using_subcommand
    set -l cmd (__fish_flowctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c flowctl -n "__fish_flowctl_needs_command" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_needs_command" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_needs_command" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_needs_command" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_needs_command" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "decode" -d 'Decode IPFIX and NetFlow v9 records from pcap, pcapng or RFC 5655 (.ipfix) files'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "collect" -d 'Receive IPFIX and NetFlow v9 over UDP, TCP and TLS, and print the records'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "replay" -d 'Send the IPFIX and NetFlow v9 messages of captures to a collector, at a chosen pace'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "run" -d 'Run a service of the flow-visibility pipeline'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "get" -d 'Query a running aggregator'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "tc" -d 'Mirror or redirect Pods\' traffic to a port or a tunnel (Antrea TrafficControl)'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "certs" -d 'Make TLS certificates for IPFIX over TLS (a CA, the collector\'s, the exporters\')'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "completion" -d 'Print a shell completion script (e.g. `source <(flowctl completion bash)`)'
complete -c flowctl -n "__fish_flowctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -s p -l port -d 'UDP/TCP port that carries IPFIX or NetFlow (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -s n -l count -d 'Stop after this many records' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -l template-lifetime -d 'How long a template received over UDP stays valid without being re-sent (0 = forever)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -l template-wait -d 'How long data that arrived before its template waits for it' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -l fields -d 'Print only these fields of each record, in this order: IE names (sourceIPv4Address, reverseOctetDeltaCount; ie{ID} or ie{PEN}.{ID} for elements the registry lacks) and the record\'s metadata: frame, time, exporter, collector, version, observationDomainId, sequenceNumber, exportTime, sysUptime, templateId, kind, late (fields.NAME is the IE of that name). JSON and YAML print one flat object of just these keys, null where a record lacks the field; table and csv print one column each' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -s j -l threads -d 'Threads that format JSON output, 1 or more [default: the number of cores]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -l no-sniff -d 'Only decode packets on the ports; do not recognise IPFIX/NetFlow on other ports by its header'
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -l stats -d 'Print a summary per exporter and observation domain (messages, templates, records, data waiting for templates, malformed messages, sequence gaps) instead of the records'
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -l strict -d 'Exit with status 1 when a packet, block or message was malformed'
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -l no-progress -d 'Do not draw a progress bar on a terminal'
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand decode" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -s l -l listen -d 'Where to listen (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address [default: udp://0.0.0.0:4739 and tcp://0.0.0.0:4739]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -s n -l count -d 'Stop after this many records' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l duration -d 'Stop after this long (e.g. 30s, 5m)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -s w -l write -d 'Also write every message received into this pcap file (UDP datagrams and TCP segments with the real addresses), which `decode` and `replay` read back' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l metrics-addr -d 'Serve Prometheus metrics at http://ADDR/metrics' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l template-lifetime -d 'How long a template received over UDP stays valid without being re-sent' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l template-wait -d 'How long data that arrived before its template waits for it' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l fields -d 'Print only these fields of each record, in this order: IE names (sourceIPv4Address, reverseOctetDeltaCount; ie{ID} or ie{PEN}.{ID} for elements the registry lacks) and the record\'s metadata: frame, time, exporter, collector, version, observationDomainId, sequenceNumber, exportTime, sysUptime, templateId, kind, late (fields.NAME is the IE of that name). JSON and YAML print one flat object of just these keys, null where a record lacks the field; table and csv print one column each' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l tls-cert -d 'Server certificate (PEM) for tls:// listeners' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l tls-key -d 'Private key (PEM) of the server certificate' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l tls-client-ca -d 'CA (PEM) that client certificates must chain to: turns on mutual TLS' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l rcvbuf -d 'Receive buffer of each UDP socket, in bytes (the kernel may clamp it to net.core.rmem_max; you are told)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l udp-sockets -d 'UDP sockets per port (SO_REUSEPORT), each read by its own thread [default: the number of cores]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l max-sessions -d 'Transport sessions held at once (UDP exporters and TCP connections); more are refused and counted' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l handshake-timeout -d 'Time a TLS client has to finish its handshake (at most 16 at once from one address)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l first-message-timeout -d 'A TCP/TLS connection that sends no complete message this long after opening is closed' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l connection-idle-timeout -d 'A TCP/TLS connection that sends nothing this long after its last message is closed' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l drain-timeout -d 'On SIGTERM/SIGINT, how long connections are read for what they still hold (the rest is counted as lost)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l metrics-label-sets -d 'Per-exporter label sets (exporter, transport, version, domain) /metrics shows one by one, first come first served while their sessions live; the rest are summed under exporter="other"' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l status-every -d 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -l stats -d 'Print a summary per exporter and observation domain when stopping, instead of the records'
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand collect" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -s t -l to -d 'The collector: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT[:udp|tcp|tls]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l rate -d 'Data records per second over all sessions [default: as fast as possible]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l speed -d 'Follow the capture\'s own timing, X times faster (0.5: half as fast)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l loop -d 'Passes over the captures; 0 repeats until Ctrl-C' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l source-ip -d 'Local address to send from (an ephemeral port per session) [default: the system\'s choice]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l max-sessions -d 'Sockets or connections open at once; beyond it the least recently used is closed (counted) and its session gets a new one when it sends again' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l max-memory -d 'Memory for holding the captures\' messages between passes with --loop (bytes, or with K, M, G); larger inputs are read again from the files on every pass' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l tls-ca -d 'CA certificate (PEM) that the collector\'s certificate must chain to, for tls://' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l tls-cert -d 'Client certificate (PEM) for mutual TLS' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l tls-key -d 'Private key (PEM) of the client certificate' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l tls-server-name -d 'Name the collector\'s certificate must carry [default: the host in --to]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -s p -l port -d 'UDP/TCP port that carries IPFIX or NetFlow in the captures (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l rewrite-sequence -d 'Rewrite sequence numbers per session and observation domain so they keep counting across passes (IPFIX: data records; NetFlow v9: packets); without it every pass repeats the original ones'
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l no-sniff -d 'Only take packets on the ports; do not recognise IPFIX/NetFlow on other ports by its header'
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -l no-progress -d 'Do not draw the progress line on a terminal'
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand replay" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -f -a "agent" -d 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -f -a "aggregator" -d 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter\'s identity (proxy mode)'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and not __fish_seen_subcommand_from agent aggregator help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l config -d 'Antrea\'s antrea-agent.conf (YAML); its flowExporter section is read, flags override it' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l collector -d 'Where to export, HOST:PORT[:tcp|udp|tls] (flowCollectorAddr; NAMESPACE/SERVICE needs Kubernetes)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l collector-ca -d 'CA (PEM) that signed the collector\'s certificate (tls)' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l collector-cert -d 'Client certificate (PEM) for a collector asking for mutual TLS' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l collector-key -d 'Private key (PEM) of --collector-cert' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l collector-server-name -d 'Name the collector\'s certificate must carry [default: the host, or SERVICE.NAMESPACE.svc]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l poll-interval -d 'How often conntrack is dumped (flowPollInterval, at least 1s)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l active-timeout -d 'A live connection is exported this often (activeFlowExportTimeout)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l idle-timeout -d 'A connection whose counters stay still this long is exported and left (idleFlowExportTimeout)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l protocol-filter -d 'Protocols to export, comma-separated tcp,udp,sctp (protocolFilter); "" exports none' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l node-name -d 'This Node\'s name: the observation domain is its FNV-1 hash [default: $NODE_NAME, the inventory\'s node, the host name]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l zone -d 'Conntrack zone to read (repeatable) [default: every zone]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l kubeconfig -d 'Kubeconfig for the Pod, Service and Node watches [default: in-cluster when in a Pod]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l pods -d 'Pod inventory (YAML: node, pods with names and IPs, services, podCIDRs) instead of Kubernetes' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l pod-cidr -d 'Pod CIDR of the cluster (repeatable), for flowType, besides those of the Nodes or inventory' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l metrics-addr -d 'Serve /metrics (Prometheus) here' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l export-profile -d 'IPFIX dialect: go-ipfix (what Antrea\'s aggregator reads) or everything RFC 7011 allows' -r -f -a "go-ipfix\t'One set per message, no options templates, UDP messages of at most 1024 bytes'
standard\t'Everything RFC 7011 allows'"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l queue-records -d 'Records held while the collector is unreachable; more are dropped and counted' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l status-every -d 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l no-kubernetes -d 'Do not talk to Kubernetes, even in a Pod or with a kubeconfig'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -l no-events -d 'Only poll: do not subscribe to conntrack events (connections shorter than a poll are missed)'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from agent" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l config -d 'Antrea\'s flow-aggregator.conf (YAML); flags given here override its keys' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l mode -d 'What to do with records (the file\'s `mode`) [default: aggregate]' -r -f -a "aggregate\t'Correlate the two Nodes\' records of each connection and export the flow'
proxy\t'Forward every record at once, statelessly'"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l active-timeout -d 'Aggregate mode: export a flow at least this often while it is active (activeFlowRecordTimeout)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l inactive-timeout -d 'Aggregate mode: forget a flow with no record for this long (inactiveFlowRecordTimeout)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l flow-log -d 'Aggregate mode: write the CSV flow log here (enables flowLogger)' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l clickhouse -d 'Aggregate mode: insert rows into ClickHouse at this URL, http://HOST:8123 (enables clickHouse; credentials from CH_USERNAME / CH_PASSWORD)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -s l -l listen -d 'Where to listen, overriding aggregatorTransportProtocol (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l cert-dir -d 'Where the self-signed CA, server and client certificates are made when TLS is on and no --tls-cert is given (agents use ca.crt and the client certificate); a directory of our own, created with mode 0700 [default: $STATE_DIRECTORY/certs, or /var/lib/flowctl/certs as root, else $XDG_RUNTIME_DIR/flowctl]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l flow-collector -d 'The downstream collector, HOST:PORT[:tcp|udp|tls] or a URL (enables flowCollector)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l flow-collector-format -d 'Record format sent to the collector (flowCollector.recordFormat)' -r -f -a "ipfix\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l export-profile -d 'IPFIX dialect: go-ipfix (what Antrea\'s collectors read) or everything RFC 7011 allows' -r -f -a "go-ipfix\t'One set per message, no options templates, UDP messages of at most 1024 bytes'
standard\t'Everything RFC 7011 allows'"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l flow-collector-ca -d 'CA (PEM) to verify a tls collector' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l flow-collector-cert -d 'Client certificate (PEM) for a collector asking for mutual TLS' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l flow-collector-key -d 'Private key (PEM) of --flow-collector-cert' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l flow-collector-server-name -d 'Name the collector\'s certificate must carry (flowCollector.tls.serverName)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l observation-domain-id -d 'The aggregator\'s observation domain id [default: FNV-1 of the cluster id]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l cluster-id -d 'The clusterId exported with every record (clusterID)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l kubeconfig -d 'Kubeconfig for the Pod watch [default: in-cluster when in a Pod, else no Kubernetes]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l metrics-addr -d 'Serve /metrics (Prometheus) and /recordmetrics here [default: 127.0.0.1:apiServer.apiPort]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l queue-records -d 'Records held while the collector is unreachable; more are dropped and counted' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l tls-cert -d 'Server certificate (PEM) for tls:// listeners' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l tls-key -d 'Private key (PEM) of the server certificate' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l tls-client-ca -d 'CA (PEM) that client certificates must chain to: turns on mutual TLS' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l rcvbuf -d 'Receive buffer of each UDP socket, in bytes (the kernel may clamp it to net.core.rmem_max; you are told)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l udp-sockets -d 'UDP sockets per port (SO_REUSEPORT), each read by its own thread [default: the number of cores]' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l max-sessions -d 'Transport sessions held at once (UDP exporters and TCP connections); more are refused and counted' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l handshake-timeout -d 'Time a TLS client has to finish its handshake (at most 16 at once from one address)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l first-message-timeout -d 'A TCP/TLS connection that sends no complete message this long after opening is closed' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l connection-idle-timeout -d 'A TCP/TLS connection that sends nothing this long after its last message is closed' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l drain-timeout -d 'On SIGTERM/SIGINT, how long connections are read for what they still hold (the rest is counted as lost)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l metrics-label-sets -d 'Per-exporter label sets (exporter, transport, version, domain) /metrics shows one by one, first come first served while their sessions live; the rest are summed under exporter="other"' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l status-every -d 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -l pod-labels -d 'Add sourcePodLabels/destinationPodLabels from Kubernetes (recordContents.podLabels)'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from aggregator" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from help" -f -a "agent" -d 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from help" -f -a "aggregator" -d 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter\'s identity (proxy mode)'
complete -c flowctl -n "__fish_flowctl_using_subcommand run; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -f -a "recordmetrics" -d 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -f -a "flowrecords" -d 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and not __fish_seen_subcommand_from recordmetrics flowrecords help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from recordmetrics" -l server -d 'The aggregator\'s API (its --metrics-addr): a URL, or HOST:PORT for http://HOST:PORT' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from recordmetrics" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from recordmetrics" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from recordmetrics" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from recordmetrics" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from recordmetrics" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from recordmetrics" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -l server -d 'The aggregator\'s API (its --metrics-addr): a URL, or HOST:PORT for http://HOST:PORT' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -l srcip -d 'Only flows from this source address' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -l dstip -d 'Only flows to this destination address' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -l proto -d 'Only flows of this IP protocol: a number or tcp, udp, sctp, icmp, icmpv6' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -l srcport -d 'Only flows from this source port' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -l dstport -d 'Only flows to this destination port' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from flowrecords" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from help" -f -a "recordmetrics" -d 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from help" -f -a "flowrecords" -d 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)'
complete -c flowctl -n "__fish_flowctl_using_subcommand get; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -f -a "apply" -d 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -f -a "get" -d 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -f -a "delete" -d 'Delete TrafficControls; on this host, their filters and links go with them'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -f -a "status" -d 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and not __fish_seen_subcommand_from apply get delete status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -s f -l filename -d 'YAML file with one or more TrafficControls (\'---\' separated); \'-\' reads stdin' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -l pods -d 'Pod inventory (the agent\'s --pods format) for --local; remembered for later commands' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -l kubeconfig -d 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -l state-dir -d 'Where --local keeps the applied TrafficControls' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -l dry-run -d 'Validate only: nothing is sent or realized'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -l force-conflicts -d 'Take over fields another field manager owns (kubectl\'s --force-conflicts)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -l local -d 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from apply" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -l kubeconfig -d 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -l state-dir -d 'Where --local keeps the applied TrafficControls' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -l local -d 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from get" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -l pods -d 'Pod inventory for --local [default: the one given last]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -l kubeconfig -d 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -l state-dir -d 'Where --local keeps the applied TrafficControls' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -l all -d 'Delete every TrafficControl'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -l local -d 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -l pods -d 'Pod inventory [default with --local: the one given last]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -l kubeconfig -d 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -l state-dir -d 'Where --local keeps the applied TrafficControls' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -l local -d 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from help" -f -a "apply" -d 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from help" -f -a "get" -d 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete TrafficControls; on this host, their filters and links go with them'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from help" -f -a "status" -d 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)'
complete -c flowctl -n "__fish_flowctl_using_subcommand tc; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and not __fish_seen_subcommand_from create help" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and not __fish_seen_subcommand_from create help" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and not __fish_seen_subcommand_from create help" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and not __fish_seen_subcommand_from create help" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and not __fish_seen_subcommand_from create help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and not __fish_seen_subcommand_from create help" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and not __fish_seen_subcommand_from create help" -f -a "create" -d 'Create a CA (or sign with the one in DIR), a server certificate and client certificates'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and not __fish_seen_subcommand_from create help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -l out -d 'Directory for the files (created with mode 0700 if missing; one that exists must be ours and not writable by others)' -r -F
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -l ca -d 'Common name of a new CA (DIR/ca.crt, DIR/ca.key); when both files exist they sign instead' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -l server -d 'DNS names and IP addresses the collector is reached by, all in one server certificate (server.crt, server.key)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -l client -d 'Exporter names, one client certificate each (client-NAME.crt, client-NAME.key)' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -l days -d 'Days the new certificates are valid' -r
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -l force -d 'Replace existing server and client files (the CA is never replaced)'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from create" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a CA (or sign with the one in DIR), a server certificate and client certificates'
complete -c flowctl -n "__fish_flowctl_using_subcommand certs; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand completion" -s o -l output -d 'Output format [default: table on a terminal, json otherwise]' -r -f -a "table\t'Aligned columns, the flow in brief'
wide\t'Aligned columns with every field'
json\t'One JSON object per line'
yaml\t'The same objects as a YAML sequence'
csv\t'Comma-separated values, one line per record after a header (decode and collect; other commands print a table)'"
complete -c flowctl -n "__fish_flowctl_using_subcommand completion" -l log-format -d 'Log line format on stderr' -r -f -a "text\t''
json\t''"
complete -c flowctl -n "__fish_flowctl_using_subcommand completion" -s v -l verbose -d 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
complete -c flowctl -n "__fish_flowctl_using_subcommand completion" -s q -l quiet -d 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
complete -c flowctl -n "__fish_flowctl_using_subcommand completion" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand completion" -s V -l version -d 'Print version'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "decode" -d 'Decode IPFIX and NetFlow v9 records from pcap, pcapng or RFC 5655 (.ipfix) files'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "collect" -d 'Receive IPFIX and NetFlow v9 over UDP, TCP and TLS, and print the records'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "replay" -d 'Send the IPFIX and NetFlow v9 messages of captures to a collector, at a chosen pace'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "run" -d 'Run a service of the flow-visibility pipeline'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "get" -d 'Query a running aggregator'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "tc" -d 'Mirror or redirect Pods\' traffic to a port or a tunnel (Antrea TrafficControl)'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "certs" -d 'Make TLS certificates for IPFIX over TLS (a CA, the collector\'s, the exporters\')'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "completion" -d 'Print a shell completion script (e.g. `source <(flowctl completion bash)`)'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and not __fish_seen_subcommand_from decode collect replay run get tc certs completion help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from run" -f -a "agent" -d 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from run" -f -a "aggregator" -d 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter\'s identity (proxy mode)'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from get" -f -a "recordmetrics" -d 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from get" -f -a "flowrecords" -d 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from tc" -f -a "apply" -d 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from tc" -f -a "get" -d 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from tc" -f -a "delete" -d 'Delete TrafficControls; on this host, their filters and links go with them'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from tc" -f -a "status" -d 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)'
complete -c flowctl -n "__fish_flowctl_using_subcommand help; and __fish_seen_subcommand_from certs" -f -a "create" -d 'Create a CA (or sign with the one in DIR), a server certificate and client certificates'
