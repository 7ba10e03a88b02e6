
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'flowctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'flowctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'flowctl' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('decode', 'decode', [CompletionResultType]::ParameterValue, 'Decode IPFIX and NetFlow v9 records from pcap, pcapng or RFC 5655 (.ipfix) files')
            [CompletionResult]::new('collect', 'collect', [CompletionResultType]::ParameterValue, 'Receive IPFIX and NetFlow v9 over UDP, TCP and TLS, and print the records')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Send the IPFIX and NetFlow v9 messages of captures to a collector, at a chosen pace')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a service of the flow-visibility pipeline')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Query a running aggregator')
            [CompletionResult]::new('tc', 'tc', [CompletionResultType]::ParameterValue, 'Mirror or redirect Pods'' traffic to a port or a tunnel (Antrea TrafficControl)')
            [CompletionResult]::new('certs', 'certs', [CompletionResultType]::ParameterValue, 'Make TLS certificates for IPFIX over TLS (a CA, the collector''s, the exporters'')')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script (e.g. `source <(flowctl completion bash)`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;decode' {
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'UDP/TCP port that carries IPFIX or NetFlow (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'UDP/TCP port that carries IPFIX or NetFlow (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Stop after this many records')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after this many records')
            [CompletionResult]::new('--template-lifetime', '--template-lifetime', [CompletionResultType]::ParameterName, 'How long a template received over UDP stays valid without being re-sent (0 = forever)')
            [CompletionResult]::new('--template-wait', '--template-wait', [CompletionResultType]::ParameterName, 'How long data that arrived before its template waits for it')
            [CompletionResult]::new('--fields', '--fields', [CompletionResultType]::ParameterName, 'Print only these fields of each record, in this order: IE names (sourceIPv4Address, reverseOctetDeltaCount; ie{ID} or ie{PEN}.{ID} for elements the registry lacks) and the record''s metadata: frame, time, exporter, collector, version, observationDomainId, sequenceNumber, exportTime, sysUptime, templateId, kind, late (fields.NAME is the IE of that name). JSON and YAML print one flat object of just these keys, null where a record lacks the field; table and csv print one column each')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Threads that format JSON output, 1 or more [default: the number of cores]')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Threads that format JSON output, 1 or more [default: the number of cores]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--no-sniff', '--no-sniff', [CompletionResultType]::ParameterName, 'Only decode packets on the ports; do not recognise IPFIX/NetFlow on other ports by its header')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print a summary per exporter and observation domain (messages, templates, records, data waiting for templates, malformed messages, sequence gaps) instead of the records')
            [CompletionResult]::new('--strict', '--strict', [CompletionResultType]::ParameterName, 'Exit with status 1 when a packet, block or message was malformed')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Do not draw a progress bar on a terminal')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;collect' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Where to listen (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address [default: udp://0.0.0.0:4739 and tcp://0.0.0.0:4739]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Where to listen (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address [default: udp://0.0.0.0:4739 and tcp://0.0.0.0:4739]')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Stop after this many records')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after this many records')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long (e.g. 30s, 5m)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Also write every message received into this pcap file (UDP datagrams and TCP segments with the real addresses), which `decode` and `replay` read back')
            [CompletionResult]::new('--write', '--write', [CompletionResultType]::ParameterName, 'Also write every message received into this pcap file (UDP datagrams and TCP segments with the real addresses), which `decode` and `replay` read back')
            [CompletionResult]::new('--metrics-addr', '--metrics-addr', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics at http://ADDR/metrics')
            [CompletionResult]::new('--template-lifetime', '--template-lifetime', [CompletionResultType]::ParameterName, 'How long a template received over UDP stays valid without being re-sent')
            [CompletionResult]::new('--template-wait', '--template-wait', [CompletionResultType]::ParameterName, 'How long data that arrived before its template waits for it')
            [CompletionResult]::new('--fields', '--fields', [CompletionResultType]::ParameterName, 'Print only these fields of each record, in this order: IE names (sourceIPv4Address, reverseOctetDeltaCount; ie{ID} or ie{PEN}.{ID} for elements the registry lacks) and the record''s metadata: frame, time, exporter, collector, version, observationDomainId, sequenceNumber, exportTime, sysUptime, templateId, kind, late (fields.NAME is the IE of that name). JSON and YAML print one flat object of just these keys, null where a record lacks the field; table and csv print one column each')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Server certificate (PEM) for tls:// listeners')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'Private key (PEM) of the server certificate')
            [CompletionResult]::new('--tls-client-ca', '--tls-client-ca', [CompletionResultType]::ParameterName, 'CA (PEM) that client certificates must chain to: turns on mutual TLS')
            [CompletionResult]::new('--rcvbuf', '--rcvbuf', [CompletionResultType]::ParameterName, 'Receive buffer of each UDP socket, in bytes (the kernel may clamp it to net.core.rmem_max; you are told)')
            [CompletionResult]::new('--udp-sockets', '--udp-sockets', [CompletionResultType]::ParameterName, 'UDP sockets per port (SO_REUSEPORT), each read by its own thread [default: the number of cores]')
            [CompletionResult]::new('--max-sessions', '--max-sessions', [CompletionResultType]::ParameterName, 'Transport sessions held at once (UDP exporters and TCP connections); more are refused and counted')
            [CompletionResult]::new('--handshake-timeout', '--handshake-timeout', [CompletionResultType]::ParameterName, 'Time a TLS client has to finish its handshake (at most 16 at once from one address)')
            [CompletionResult]::new('--first-message-timeout', '--first-message-timeout', [CompletionResultType]::ParameterName, 'A TCP/TLS connection that sends no complete message this long after opening is closed')
            [CompletionResult]::new('--connection-idle-timeout', '--connection-idle-timeout', [CompletionResultType]::ParameterName, 'A TCP/TLS connection that sends nothing this long after its last message is closed')
            [CompletionResult]::new('--drain-timeout', '--drain-timeout', [CompletionResultType]::ParameterName, 'On SIGTERM/SIGINT, how long connections are read for what they still hold (the rest is counted as lost)')
            [CompletionResult]::new('--metrics-label-sets', '--metrics-label-sets', [CompletionResultType]::ParameterName, 'Per-exporter label sets (exporter, transport, version, domain) /metrics shows one by one, first come first served while their sessions live; the rest are summed under exporter="other"')
            [CompletionResult]::new('--status-every', '--status-every', [CompletionResultType]::ParameterName, 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print a summary per exporter and observation domain when stopping, instead of the records')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;replay' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The collector: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT[:udp|tcp|tls]')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The collector: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT[:udp|tcp|tls]')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Data records per second over all sessions [default: as fast as possible]')
            [CompletionResult]::new('--speed', '--speed', [CompletionResultType]::ParameterName, 'Follow the capture''s own timing, X times faster (0.5: half as fast)')
            [CompletionResult]::new('--loop', '--loop', [CompletionResultType]::ParameterName, 'Passes over the captures; 0 repeats until Ctrl-C')
            [CompletionResult]::new('--source-ip', '--source-ip', [CompletionResultType]::ParameterName, 'Local address to send from (an ephemeral port per session) [default: the system''s choice]')
            [CompletionResult]::new('--max-sessions', '--max-sessions', [CompletionResultType]::ParameterName, 'Sockets or connections open at once; beyond it the least recently used is closed (counted) and its session gets a new one when it sends again')
            [CompletionResult]::new('--max-memory', '--max-memory', [CompletionResultType]::ParameterName, 'Memory for holding the captures'' messages between passes with --loop (bytes, or with K, M, G); larger inputs are read again from the files on every pass')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'CA certificate (PEM) that the collector''s certificate must chain to, for tls://')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Client certificate (PEM) for mutual TLS')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'Private key (PEM) of the client certificate')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'Name the collector''s certificate must carry [default: the host in --to]')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'UDP/TCP port that carries IPFIX or NetFlow in the captures (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'UDP/TCP port that carries IPFIX or NetFlow in the captures (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--rewrite-sequence', '--rewrite-sequence', [CompletionResultType]::ParameterName, 'Rewrite sequence numbers per session and observation domain so they keep counting across passes (IPFIX: data records; NetFlow v9: packets); without it every pass repeats the original ones')
            [CompletionResult]::new('--no-sniff', '--no-sniff', [CompletionResultType]::ParameterName, 'Only take packets on the ports; do not recognise IPFIX/NetFlow on other ports by its header')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'Do not draw the progress line on a terminal')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;run' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records')
            [CompletionResult]::new('aggregator', 'aggregator', [CompletionResultType]::ParameterValue, 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter''s identity (proxy mode)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;run;agent' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Antrea''s antrea-agent.conf (YAML); its flowExporter section is read, flags override it')
            [CompletionResult]::new('--collector', '--collector', [CompletionResultType]::ParameterName, 'Where to export, HOST:PORT[:tcp|udp|tls] (flowCollectorAddr; NAMESPACE/SERVICE needs Kubernetes)')
            [CompletionResult]::new('--collector-ca', '--collector-ca', [CompletionResultType]::ParameterName, 'CA (PEM) that signed the collector''s certificate (tls)')
            [CompletionResult]::new('--collector-cert', '--collector-cert', [CompletionResultType]::ParameterName, 'Client certificate (PEM) for a collector asking for mutual TLS')
            [CompletionResult]::new('--collector-key', '--collector-key', [CompletionResultType]::ParameterName, 'Private key (PEM) of --collector-cert')
            [CompletionResult]::new('--collector-server-name', '--collector-server-name', [CompletionResultType]::ParameterName, 'Name the collector''s certificate must carry [default: the host, or SERVICE.NAMESPACE.svc]')
            [CompletionResult]::new('--poll-interval', '--poll-interval', [CompletionResultType]::ParameterName, 'How often conntrack is dumped (flowPollInterval, at least 1s)')
            [CompletionResult]::new('--active-timeout', '--active-timeout', [CompletionResultType]::ParameterName, 'A live connection is exported this often (activeFlowExportTimeout)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'A connection whose counters stay still this long is exported and left (idleFlowExportTimeout)')
            [CompletionResult]::new('--protocol-filter', '--protocol-filter', [CompletionResultType]::ParameterName, 'Protocols to export, comma-separated tcp,udp,sctp (protocolFilter); "" exports none')
            [CompletionResult]::new('--node-name', '--node-name', [CompletionResultType]::ParameterName, 'This Node''s name: the observation domain is its FNV-1 hash [default: $NODE_NAME, the inventory''s node, the host name]')
            [CompletionResult]::new('--zone', '--zone', [CompletionResultType]::ParameterName, 'Conntrack zone to read (repeatable) [default: every zone]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Pod, Service and Node watches [default: in-cluster when in a Pod]')
            [CompletionResult]::new('--pods', '--pods', [CompletionResultType]::ParameterName, 'Pod inventory (YAML: node, pods with names and IPs, services, podCIDRs) instead of Kubernetes')
            [CompletionResult]::new('--pod-cidr', '--pod-cidr', [CompletionResultType]::ParameterName, 'Pod CIDR of the cluster (repeatable), for flowType, besides those of the Nodes or inventory')
            [CompletionResult]::new('--metrics-addr', '--metrics-addr', [CompletionResultType]::ParameterName, 'Serve /metrics (Prometheus) here')
            [CompletionResult]::new('--export-profile', '--export-profile', [CompletionResultType]::ParameterName, 'IPFIX dialect: go-ipfix (what Antrea''s aggregator reads) or everything RFC 7011 allows')
            [CompletionResult]::new('--queue-records', '--queue-records', [CompletionResultType]::ParameterName, 'Records held while the collector is unreachable; more are dropped and counted')
            [CompletionResult]::new('--status-every', '--status-every', [CompletionResultType]::ParameterName, 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--no-kubernetes', '--no-kubernetes', [CompletionResultType]::ParameterName, 'Do not talk to Kubernetes, even in a Pod or with a kubeconfig')
            [CompletionResult]::new('--no-events', '--no-events', [CompletionResultType]::ParameterName, 'Only poll: do not subscribe to conntrack events (connections shorter than a poll are missed)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;run;aggregator' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Antrea''s flow-aggregator.conf (YAML); flags given here override its keys')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'What to do with records (the file''s `mode`) [default: aggregate]')
            [CompletionResult]::new('--active-timeout', '--active-timeout', [CompletionResultType]::ParameterName, 'Aggregate mode: export a flow at least this often while it is active (activeFlowRecordTimeout)')
            [CompletionResult]::new('--inactive-timeout', '--inactive-timeout', [CompletionResultType]::ParameterName, 'Aggregate mode: forget a flow with no record for this long (inactiveFlowRecordTimeout)')
            [CompletionResult]::new('--flow-log', '--flow-log', [CompletionResultType]::ParameterName, 'Aggregate mode: write the CSV flow log here (enables flowLogger)')
            [CompletionResult]::new('--clickhouse', '--clickhouse', [CompletionResultType]::ParameterName, 'Aggregate mode: insert rows into ClickHouse at this URL, http://HOST:8123 (enables clickHouse; credentials from CH_USERNAME / CH_PASSWORD)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Where to listen, overriding aggregatorTransportProtocol (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Where to listen, overriding aggregatorTransportProtocol (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address')
            [CompletionResult]::new('--cert-dir', '--cert-dir', [CompletionResultType]::ParameterName, 'Where the self-signed CA, server and client certificates are made when TLS is on and no --tls-cert is given (agents use ca.crt and the client certificate); a directory of our own, created with mode 0700 [default: $STATE_DIRECTORY/certs, or /var/lib/flowctl/certs as root, else $XDG_RUNTIME_DIR/flowctl]')
            [CompletionResult]::new('--flow-collector', '--flow-collector', [CompletionResultType]::ParameterName, 'The downstream collector, HOST:PORT[:tcp|udp|tls] or a URL (enables flowCollector)')
            [CompletionResult]::new('--flow-collector-format', '--flow-collector-format', [CompletionResultType]::ParameterName, 'Record format sent to the collector (flowCollector.recordFormat)')
            [CompletionResult]::new('--export-profile', '--export-profile', [CompletionResultType]::ParameterName, 'IPFIX dialect: go-ipfix (what Antrea''s collectors read) or everything RFC 7011 allows')
            [CompletionResult]::new('--flow-collector-ca', '--flow-collector-ca', [CompletionResultType]::ParameterName, 'CA (PEM) to verify a tls collector')
            [CompletionResult]::new('--flow-collector-cert', '--flow-collector-cert', [CompletionResultType]::ParameterName, 'Client certificate (PEM) for a collector asking for mutual TLS')
            [CompletionResult]::new('--flow-collector-key', '--flow-collector-key', [CompletionResultType]::ParameterName, 'Private key (PEM) of --flow-collector-cert')
            [CompletionResult]::new('--flow-collector-server-name', '--flow-collector-server-name', [CompletionResultType]::ParameterName, 'Name the collector''s certificate must carry (flowCollector.tls.serverName)')
            [CompletionResult]::new('--observation-domain-id', '--observation-domain-id', [CompletionResultType]::ParameterName, 'The aggregator''s observation domain id [default: FNV-1 of the cluster id]')
            [CompletionResult]::new('--cluster-id', '--cluster-id', [CompletionResultType]::ParameterName, 'The clusterId exported with every record (clusterID)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubeconfig for the Pod watch [default: in-cluster when in a Pod, else no Kubernetes]')
            [CompletionResult]::new('--metrics-addr', '--metrics-addr', [CompletionResultType]::ParameterName, 'Serve /metrics (Prometheus) and /recordmetrics here [default: 127.0.0.1:apiServer.apiPort]')
            [CompletionResult]::new('--queue-records', '--queue-records', [CompletionResultType]::ParameterName, 'Records held while the collector is unreachable; more are dropped and counted')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Server certificate (PEM) for tls:// listeners')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'Private key (PEM) of the server certificate')
            [CompletionResult]::new('--tls-client-ca', '--tls-client-ca', [CompletionResultType]::ParameterName, 'CA (PEM) that client certificates must chain to: turns on mutual TLS')
            [CompletionResult]::new('--rcvbuf', '--rcvbuf', [CompletionResultType]::ParameterName, 'Receive buffer of each UDP socket, in bytes (the kernel may clamp it to net.core.rmem_max; you are told)')
            [CompletionResult]::new('--udp-sockets', '--udp-sockets', [CompletionResultType]::ParameterName, 'UDP sockets per port (SO_REUSEPORT), each read by its own thread [default: the number of cores]')
            [CompletionResult]::new('--max-sessions', '--max-sessions', [CompletionResultType]::ParameterName, 'Transport sessions held at once (UDP exporters and TCP connections); more are refused and counted')
            [CompletionResult]::new('--handshake-timeout', '--handshake-timeout', [CompletionResultType]::ParameterName, 'Time a TLS client has to finish its handshake (at most 16 at once from one address)')
            [CompletionResult]::new('--first-message-timeout', '--first-message-timeout', [CompletionResultType]::ParameterName, 'A TCP/TLS connection that sends no complete message this long after opening is closed')
            [CompletionResult]::new('--connection-idle-timeout', '--connection-idle-timeout', [CompletionResultType]::ParameterName, 'A TCP/TLS connection that sends nothing this long after its last message is closed')
            [CompletionResult]::new('--drain-timeout', '--drain-timeout', [CompletionResultType]::ParameterName, 'On SIGTERM/SIGINT, how long connections are read for what they still hold (the rest is counted as lost)')
            [CompletionResult]::new('--metrics-label-sets', '--metrics-label-sets', [CompletionResultType]::ParameterName, 'Per-exporter label sets (exporter, transport, version, domain) /metrics shows one by one, first come first served while their sessions live; the rest are summed under exporter="other"')
            [CompletionResult]::new('--status-every', '--status-every', [CompletionResultType]::ParameterName, 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--pod-labels', '--pod-labels', [CompletionResultType]::ParameterName, 'Add sourcePodLabels/destinationPodLabels from Kubernetes (recordContents.podLabels)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;run;help' {
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records')
            [CompletionResult]::new('aggregator', 'aggregator', [CompletionResultType]::ParameterValue, 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter''s identity (proxy mode)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;run;help;agent' {
            break
        }
        'flowctl;run;help;aggregator' {
            break
        }
        'flowctl;run;help;help' {
            break
        }
        'flowctl;get' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('recordmetrics', 'recordmetrics', [CompletionResultType]::ParameterValue, 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)')
            [CompletionResult]::new('flowrecords', 'flowrecords', [CompletionResultType]::ParameterValue, 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;get;recordmetrics' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The aggregator''s API (its --metrics-addr): a URL, or HOST:PORT for http://HOST:PORT')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;get;flowrecords' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The aggregator''s API (its --metrics-addr): a URL, or HOST:PORT for http://HOST:PORT')
            [CompletionResult]::new('--srcip', '--srcip', [CompletionResultType]::ParameterName, 'Only flows from this source address')
            [CompletionResult]::new('--dstip', '--dstip', [CompletionResultType]::ParameterName, 'Only flows to this destination address')
            [CompletionResult]::new('--proto', '--proto', [CompletionResultType]::ParameterName, 'Only flows of this IP protocol: a number or tcp, udp, sctp, icmp, icmpv6')
            [CompletionResult]::new('--srcport', '--srcport', [CompletionResultType]::ParameterName, 'Only flows from this source port')
            [CompletionResult]::new('--dstport', '--dstport', [CompletionResultType]::ParameterName, 'Only flows to this destination port')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;get;help' {
            [CompletionResult]::new('recordmetrics', 'recordmetrics', [CompletionResultType]::ParameterValue, 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)')
            [CompletionResult]::new('flowrecords', 'flowrecords', [CompletionResultType]::ParameterValue, 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;get;help;recordmetrics' {
            break
        }
        'flowctl;get;help;flowrecords' {
            break
        }
        'flowctl;get;help;help' {
            break
        }
        'flowctl;tc' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete TrafficControls; on this host, their filters and links go with them')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;tc;apply' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'YAML file with one or more TrafficControls (''---'' separated); ''-'' reads stdin')
            [CompletionResult]::new('--filename', '--filename', [CompletionResultType]::ParameterName, 'YAML file with one or more TrafficControls (''---'' separated); ''-'' reads stdin')
            [CompletionResult]::new('--pods', '--pods', [CompletionResultType]::ParameterName, 'Pod inventory (the agent''s --pods format) for --local; remembered for later commands')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where --local keeps the applied TrafficControls')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Validate only: nothing is sent or realized')
            [CompletionResult]::new('--force-conflicts', '--force-conflicts', [CompletionResultType]::ParameterName, 'Take over fields another field manager owns (kubectl''s --force-conflicts)')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;tc;get' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where --local keeps the applied TrafficControls')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;tc;delete' {
            [CompletionResult]::new('--pods', '--pods', [CompletionResultType]::ParameterName, 'Pod inventory for --local [default: the one given last]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where --local keeps the applied TrafficControls')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Delete every TrafficControl')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;tc;status' {
            [CompletionResult]::new('--pods', '--pods', [CompletionResultType]::ParameterName, 'Pod inventory [default with --local: the one given last]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]')
            [CompletionResult]::new('--state-dir', '--state-dir', [CompletionResultType]::ParameterName, 'Where --local keeps the applied TrafficControls')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;tc;help' {
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete TrafficControls; on this host, their filters and links go with them')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;tc;help;apply' {
            break
        }
        'flowctl;tc;help;get' {
            break
        }
        'flowctl;tc;help;delete' {
            break
        }
        'flowctl;tc;help;status' {
            break
        }
        'flowctl;tc;help;help' {
            break
        }
        'flowctl;certs' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a CA (or sign with the one in DIR), a server certificate and client certificates')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;certs;create' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory for the files (created with mode 0700 if missing; one that exists must be ours and not writable by others)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Common name of a new CA (DIR/ca.crt, DIR/ca.key); when both files exist they sign instead')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'DNS names and IP addresses the collector is reached by, all in one server certificate (server.crt, server.key)')
            [CompletionResult]::new('--client', '--client', [CompletionResultType]::ParameterName, 'Exporter names, one client certificate each (client-NAME.crt, client-NAME.key)')
            [CompletionResult]::new('--days', '--days', [CompletionResultType]::ParameterName, 'Days the new certificates are valid')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace existing server and client files (the CA is never replaced)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;certs;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a CA (or sign with the one in DIR), a server certificate and client certificates')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;certs;help;create' {
            break
        }
        'flowctl;certs;help;help' {
            break
        }
        'flowctl;completion' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format [default: table on a terminal, json otherwise]')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'flowctl;help' {
            [CompletionResult]::new('decode', 'decode', [CompletionResultType]::ParameterValue, 'Decode IPFIX and NetFlow v9 records from pcap, pcapng or RFC 5655 (.ipfix) files')
            [CompletionResult]::new('collect', 'collect', [CompletionResultType]::ParameterValue, 'Receive IPFIX and NetFlow v9 over UDP, TCP and TLS, and print the records')
            [CompletionResult]::new('replay', 'replay', [CompletionResultType]::ParameterValue, 'Send the IPFIX and NetFlow v9 messages of captures to a collector, at a chosen pace')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a service of the flow-visibility pipeline')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Query a running aggregator')
            [CompletionResult]::new('tc', 'tc', [CompletionResultType]::ParameterValue, 'Mirror or redirect Pods'' traffic to a port or a tunnel (Antrea TrafficControl)')
            [CompletionResult]::new('certs', 'certs', [CompletionResultType]::ParameterValue, 'Make TLS certificates for IPFIX over TLS (a CA, the collector''s, the exporters'')')
            [CompletionResult]::new('completion', 'completion', [CompletionResultType]::ParameterValue, 'Print a shell completion script (e.g. `source <(flowctl completion bash)`)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'flowctl;help;decode' {
            break
        }
        'flowctl;help;collect' {
            break
        }
        'flowctl;help;replay' {
            break
        }
        'flowctl;help;run' {
            [CompletionResult]::new('agent', 'agent', [CompletionResultType]::ParameterValue, 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records')
            [CompletionResult]::new('aggregator', 'aggregator', [CompletionResultType]::ParameterValue, 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter''s identity (proxy mode)')
            break
        }
        'flowctl;help;run;agent' {
            break
        }
        'flowctl;help;run;aggregator' {
            break
        }
        'flowctl;help;get' {
            [CompletionResult]::new('recordmetrics', 'recordmetrics', [CompletionResultType]::ParameterValue, 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)')
            [CompletionResult]::new('flowrecords', 'flowrecords', [CompletionResultType]::ParameterValue, 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)')
            break
        }
        'flowctl;help;get;recordmetrics' {
            break
        }
        'flowctl;help;get;flowrecords' {
            break
        }
        'flowctl;help;tc' {
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete TrafficControls; on this host, their filters and links go with them')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)')
            break
        }
        'flowctl;help;tc;apply' {
            break
        }
        'flowctl;help;tc;get' {
            break
        }
        'flowctl;help;tc;delete' {
            break
        }
        'flowctl;help;tc;status' {
            break
        }
        'flowctl;help;certs' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create a CA (or sign with the one in DIR), a server certificate and client certificates')
            break
        }
        'flowctl;help;certs;create' {
            break
        }
        'flowctl;help;completion' {
            break
        }
        'flowctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
