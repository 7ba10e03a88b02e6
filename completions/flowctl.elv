
use builtin;
use str;

set edit:completion:arg-completer[flowctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'flowctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'flowctl'= {
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand decode 'Decode IPFIX and NetFlow v9 records from pcap, pcapng or RFC 5655 (.ipfix) files'
            cand collect 'Receive IPFIX and NetFlow v9 over UDP, TCP and TLS, and print the records'
            cand replay 'Send the IPFIX and NetFlow v9 messages of captures to a collector, at a chosen pace'
            cand run 'Run a service of the flow-visibility pipeline'
            cand get 'Query a running aggregator'
            cand tc 'Mirror or redirect Pods'' traffic to a port or a tunnel (Antrea TrafficControl)'
            cand certs 'Make TLS certificates for IPFIX over TLS (a CA, the collector''s, the exporters'')'
            cand completion 'Print a shell completion script (e.g. `source <(flowctl completion bash)`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;decode'= {
            cand -p 'UDP/TCP port that carries IPFIX or NetFlow (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)'
            cand --port 'UDP/TCP port that carries IPFIX or NetFlow (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)'
            cand -n 'Stop after this many records'
            cand --count 'Stop after this many records'
            cand --template-lifetime 'How long a template received over UDP stays valid without being re-sent (0 = forever)'
            cand --template-wait 'How long data that arrived before its template waits for it'
            cand --fields 'Print only these fields of each record, in this order: IE names (sourceIPv4Address, reverseOctetDeltaCount; ie{ID} or ie{PEN}.{ID} for elements the registry lacks) and the record''s metadata: frame, time, exporter, collector, version, observationDomainId, sequenceNumber, exportTime, sysUptime, templateId, kind, late (fields.NAME is the IE of that name). JSON and YAML print one flat object of just these keys, null where a record lacks the field; table and csv print one column each'
            cand -j 'Threads that format JSON output, 1 or more [default: the number of cores]'
            cand --threads 'Threads that format JSON output, 1 or more [default: the number of cores]'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --no-sniff 'Only decode packets on the ports; do not recognise IPFIX/NetFlow on other ports by its header'
            cand --stats 'Print a summary per exporter and observation domain (messages, templates, records, data waiting for templates, malformed messages, sequence gaps) instead of the records'
            cand --strict 'Exit with status 1 when a packet, block or message was malformed'
            cand --no-progress 'Do not draw a progress bar on a terminal'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;collect'= {
            cand -l 'Where to listen (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address [default: udp://0.0.0.0:4739 and tcp://0.0.0.0:4739]'
            cand --listen 'Where to listen (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address [default: udp://0.0.0.0:4739 and tcp://0.0.0.0:4739]'
            cand -n 'Stop after this many records'
            cand --count 'Stop after this many records'
            cand --duration 'Stop after this long (e.g. 30s, 5m)'
            cand -w 'Also write every message received into this pcap file (UDP datagrams and TCP segments with the real addresses), which `decode` and `replay` read back'
            cand --write 'Also write every message received into this pcap file (UDP datagrams and TCP segments with the real addresses), which `decode` and `replay` read back'
            cand --metrics-addr 'Serve Prometheus metrics at http://ADDR/metrics'
            cand --template-lifetime 'How long a template received over UDP stays valid without being re-sent'
            cand --template-wait 'How long data that arrived before its template waits for it'
            cand --fields 'Print only these fields of each record, in this order: IE names (sourceIPv4Address, reverseOctetDeltaCount; ie{ID} or ie{PEN}.{ID} for elements the registry lacks) and the record''s metadata: frame, time, exporter, collector, version, observationDomainId, sequenceNumber, exportTime, sysUptime, templateId, kind, late (fields.NAME is the IE of that name). JSON and YAML print one flat object of just these keys, null where a record lacks the field; table and csv print one column each'
            cand --tls-cert 'Server certificate (PEM) for tls:// listeners'
            cand --tls-key 'Private key (PEM) of the server certificate'
            cand --tls-client-ca 'CA (PEM) that client certificates must chain to: turns on mutual TLS'
            cand --rcvbuf 'Receive buffer of each UDP socket, in bytes (the kernel may clamp it to net.core.rmem_max; you are told)'
            cand --udp-sockets 'UDP sockets per port (SO_REUSEPORT), each read by its own thread [default: the number of cores]'
            cand --max-sessions 'Transport sessions held at once (UDP exporters and TCP connections); more are refused and counted'
            cand --handshake-timeout 'Time a TLS client has to finish its handshake (at most 16 at once from one address)'
            cand --first-message-timeout 'A TCP/TLS connection that sends no complete message this long after opening is closed'
            cand --connection-idle-timeout 'A TCP/TLS connection that sends nothing this long after its last message is closed'
            cand --drain-timeout 'On SIGTERM/SIGINT, how long connections are read for what they still hold (the rest is counted as lost)'
            cand --metrics-label-sets 'Per-exporter label sets (exporter, transport, version, domain) /metrics shows one by one, first come first served while their sessions live; the rest are summed under exporter="other"'
            cand --status-every 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --stats 'Print a summary per exporter and observation domain when stopping, instead of the records'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;replay'= {
            cand -t 'The collector: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT[:udp|tcp|tls]'
            cand --to 'The collector: udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT[:udp|tcp|tls]'
            cand --rate 'Data records per second over all sessions [default: as fast as possible]'
            cand --speed 'Follow the capture''s own timing, X times faster (0.5: half as fast)'
            cand --loop 'Passes over the captures; 0 repeats until Ctrl-C'
            cand --source-ip 'Local address to send from (an ephemeral port per session) [default: the system''s choice]'
            cand --max-sessions 'Sockets or connections open at once; beyond it the least recently used is closed (counted) and its session gets a new one when it sends again'
            cand --max-memory 'Memory for holding the captures'' messages between passes with --loop (bytes, or with K, M, G); larger inputs are read again from the files on every pass'
            cand --tls-ca 'CA certificate (PEM) that the collector''s certificate must chain to, for tls://'
            cand --tls-cert 'Client certificate (PEM) for mutual TLS'
            cand --tls-key 'Private key (PEM) of the client certificate'
            cand --tls-server-name 'Name the collector''s certificate must carry [default: the host in --to]'
            cand -p 'UDP/TCP port that carries IPFIX or NetFlow in the captures (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)'
            cand --port 'UDP/TCP port that carries IPFIX or NetFlow in the captures (repeatable; replaces the defaults 4739, 4740, 2055, 9995, 9996)'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --rewrite-sequence 'Rewrite sequence numbers per session and observation domain so they keep counting across passes (IPFIX: data records; NetFlow v9: packets); without it every pass repeats the original ones'
            cand --no-sniff 'Only take packets on the ports; do not recognise IPFIX/NetFlow on other ports by its header'
            cand --no-progress 'Do not draw the progress line on a terminal'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;run'= {
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand agent 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records'
            cand aggregator 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter''s identity (proxy mode)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;run;agent'= {
            cand --config 'Antrea''s antrea-agent.conf (YAML); its flowExporter section is read, flags override it'
            cand --collector 'Where to export, HOST:PORT[:tcp|udp|tls] (flowCollectorAddr; NAMESPACE/SERVICE needs Kubernetes)'
            cand --collector-ca 'CA (PEM) that signed the collector''s certificate (tls)'
            cand --collector-cert 'Client certificate (PEM) for a collector asking for mutual TLS'
            cand --collector-key 'Private key (PEM) of --collector-cert'
            cand --collector-server-name 'Name the collector''s certificate must carry [default: the host, or SERVICE.NAMESPACE.svc]'
            cand --poll-interval 'How often conntrack is dumped (flowPollInterval, at least 1s)'
            cand --active-timeout 'A live connection is exported this often (activeFlowExportTimeout)'
            cand --idle-timeout 'A connection whose counters stay still this long is exported and left (idleFlowExportTimeout)'
            cand --protocol-filter 'Protocols to export, comma-separated tcp,udp,sctp (protocolFilter); "" exports none'
            cand --node-name 'This Node''s name: the observation domain is its FNV-1 hash [default: $NODE_NAME, the inventory''s node, the host name]'
            cand --zone 'Conntrack zone to read (repeatable) [default: every zone]'
            cand --kubeconfig 'Kubeconfig for the Pod, Service and Node watches [default: in-cluster when in a Pod]'
            cand --pods 'Pod inventory (YAML: node, pods with names and IPs, services, podCIDRs) instead of Kubernetes'
            cand --pod-cidr 'Pod CIDR of the cluster (repeatable), for flowType, besides those of the Nodes or inventory'
            cand --metrics-addr 'Serve /metrics (Prometheus) here'
            cand --export-profile 'IPFIX dialect: go-ipfix (what Antrea''s aggregator reads) or everything RFC 7011 allows'
            cand --queue-records 'Records held while the collector is unreachable; more are dropped and counted'
            cand --status-every 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --no-kubernetes 'Do not talk to Kubernetes, even in a Pod or with a kubeconfig'
            cand --no-events 'Only poll: do not subscribe to conntrack events (connections shorter than a poll are missed)'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;run;aggregator'= {
            cand --config 'Antrea''s flow-aggregator.conf (YAML); flags given here override its keys'
            cand --mode 'What to do with records (the file''s `mode`) [default: aggregate]'
            cand --active-timeout 'Aggregate mode: export a flow at least this often while it is active (activeFlowRecordTimeout)'
            cand --inactive-timeout 'Aggregate mode: forget a flow with no record for this long (inactiveFlowRecordTimeout)'
            cand --flow-log 'Aggregate mode: write the CSV flow log here (enables flowLogger)'
            cand --clickhouse 'Aggregate mode: insert rows into ClickHouse at this URL, http://HOST:8123 (enables clickHouse; credentials from CH_USERNAME / CH_PASSWORD)'
            cand -l 'Where to listen, overriding aggregatorTransportProtocol (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address'
            cand --listen 'Where to listen, overriding aggregatorTransportProtocol (repeatable): PORT, HOST:PORT, HOST:PORT:PROTO or PROTO://HOST:PORT, PROTO udp, tcp or tls; without PROTO both UDP and TCP, and a bare PORT on every IPv4 address'
            cand --cert-dir 'Where the self-signed CA, server and client certificates are made when TLS is on and no --tls-cert is given (agents use ca.crt and the client certificate); a directory of our own, created with mode 0700 [default: $STATE_DIRECTORY/certs, or /var/lib/flowctl/certs as root, else $XDG_RUNTIME_DIR/flowctl]'
            cand --flow-collector 'The downstream collector, HOST:PORT[:tcp|udp|tls] or a URL (enables flowCollector)'
            cand --flow-collector-format 'Record format sent to the collector (flowCollector.recordFormat)'
            cand --export-profile 'IPFIX dialect: go-ipfix (what Antrea''s collectors read) or everything RFC 7011 allows'
            cand --flow-collector-ca 'CA (PEM) to verify a tls collector'
            cand --flow-collector-cert 'Client certificate (PEM) for a collector asking for mutual TLS'
            cand --flow-collector-key 'Private key (PEM) of --flow-collector-cert'
            cand --flow-collector-server-name 'Name the collector''s certificate must carry (flowCollector.tls.serverName)'
            cand --observation-domain-id 'The aggregator''s observation domain id [default: FNV-1 of the cluster id]'
            cand --cluster-id 'The clusterId exported with every record (clusterID)'
            cand --kubeconfig 'Kubeconfig for the Pod watch [default: in-cluster when in a Pod, else no Kubernetes]'
            cand --metrics-addr 'Serve /metrics (Prometheus) and /recordmetrics here [default: 127.0.0.1:apiServer.apiPort]'
            cand --queue-records 'Records held while the collector is unreachable; more are dropped and counted'
            cand --tls-cert 'Server certificate (PEM) for tls:// listeners'
            cand --tls-key 'Private key (PEM) of the server certificate'
            cand --tls-client-ca 'CA (PEM) that client certificates must chain to: turns on mutual TLS'
            cand --rcvbuf 'Receive buffer of each UDP socket, in bytes (the kernel may clamp it to net.core.rmem_max; you are told)'
            cand --udp-sockets 'UDP sockets per port (SO_REUSEPORT), each read by its own thread [default: the number of cores]'
            cand --max-sessions 'Transport sessions held at once (UDP exporters and TCP connections); more are refused and counted'
            cand --handshake-timeout 'Time a TLS client has to finish its handshake (at most 16 at once from one address)'
            cand --first-message-timeout 'A TCP/TLS connection that sends no complete message this long after opening is closed'
            cand --connection-idle-timeout 'A TCP/TLS connection that sends nothing this long after its last message is closed'
            cand --drain-timeout 'On SIGTERM/SIGINT, how long connections are read for what they still hold (the rest is counted as lost)'
            cand --metrics-label-sets 'Per-exporter label sets (exporter, transport, version, domain) /metrics shows one by one, first come first served while their sessions live; the rest are summed under exporter="other"'
            cand --status-every 'On a terminal, print a status line this often (records in and out, drops, exporters connected); 0 turns it off, as does --quiet'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --pod-labels 'Add sourcePodLabels/destinationPodLabels from Kubernetes (recordContents.podLabels)'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;run;help'= {
            cand agent 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records'
            cand aggregator 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter''s identity (proxy mode)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;run;help;agent'= {
        }
        &'flowctl;run;help;aggregator'= {
        }
        &'flowctl;run;help;help'= {
        }
        &'flowctl;get'= {
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand recordmetrics 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)'
            cand flowrecords 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;get;recordmetrics'= {
            cand --server 'The aggregator''s API (its --metrics-addr): a URL, or HOST:PORT for http://HOST:PORT'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;get;flowrecords'= {
            cand --server 'The aggregator''s API (its --metrics-addr): a URL, or HOST:PORT for http://HOST:PORT'
            cand --srcip 'Only flows from this source address'
            cand --dstip 'Only flows to this destination address'
            cand --proto 'Only flows of this IP protocol: a number or tcp, udp, sctp, icmp, icmpv6'
            cand --srcport 'Only flows from this source port'
            cand --dstport 'Only flows to this destination port'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;get;help'= {
            cand recordmetrics 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)'
            cand flowrecords 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;get;help;recordmetrics'= {
        }
        &'flowctl;get;help;flowrecords'= {
        }
        &'flowctl;get;help;help'= {
        }
        &'flowctl;tc'= {
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand apply 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host'
            cand get 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)'
            cand delete 'Delete TrafficControls; on this host, their filters and links go with them'
            cand status 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;tc;apply'= {
            cand -f 'YAML file with one or more TrafficControls (''---'' separated); ''-'' reads stdin'
            cand --filename 'YAML file with one or more TrafficControls (''---'' separated); ''-'' reads stdin'
            cand --pods 'Pod inventory (the agent''s --pods format) for --local; remembered for later commands'
            cand --kubeconfig 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]'
            cand --state-dir 'Where --local keeps the applied TrafficControls'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --dry-run 'Validate only: nothing is sent or realized'
            cand --force-conflicts 'Take over fields another field manager owns (kubectl''s --force-conflicts)'
            cand --local 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;tc;get'= {
            cand --kubeconfig 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]'
            cand --state-dir 'Where --local keeps the applied TrafficControls'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --local 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;tc;delete'= {
            cand --pods 'Pod inventory for --local [default: the one given last]'
            cand --kubeconfig 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]'
            cand --state-dir 'Where --local keeps the applied TrafficControls'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --all 'Delete every TrafficControl'
            cand --local 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;tc;status'= {
            cand --pods 'Pod inventory [default with --local: the one given last]'
            cand --kubeconfig 'Kubernetes API server and credentials [default: in-cluster when run in a Pod]'
            cand --state-dir 'Where --local keeps the applied TrafficControls'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --local 'On this host with Linux tc, without Kubernetes (the applied set lives in --state-dir)'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;tc;help'= {
            cand apply 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host'
            cand get 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)'
            cand delete 'Delete TrafficControls; on this host, their filters and links go with them'
            cand status 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;tc;help;apply'= {
        }
        &'flowctl;tc;help;get'= {
        }
        &'flowctl;tc;help;delete'= {
        }
        &'flowctl;tc;help;status'= {
        }
        &'flowctl;tc;help;help'= {
        }
        &'flowctl;certs'= {
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand create 'Create a CA (or sign with the one in DIR), a server certificate and client certificates'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;certs;create'= {
            cand --out 'Directory for the files (created with mode 0700 if missing; one that exists must be ours and not writable by others)'
            cand --ca 'Common name of a new CA (DIR/ca.crt, DIR/ca.key); when both files exist they sign instead'
            cand --server 'DNS names and IP addresses the collector is reached by, all in one server certificate (server.crt, server.key)'
            cand --client 'Exporter names, one client certificate each (client-NAME.crt, client-NAME.key)'
            cand --days 'Days the new certificates are valid'
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand --force 'Replace existing server and client files (the CA is never replaced)'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;certs;help'= {
            cand create 'Create a CA (or sign with the one in DIR), a server certificate and client certificates'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;certs;help;create'= {
        }
        &'flowctl;certs;help;help'= {
        }
        &'flowctl;completion'= {
            cand -o 'Output format [default: table on a terminal, json otherwise]'
            cand --output 'Output format [default: table on a terminal, json otherwise]'
            cand --log-format 'Log line format on stderr'
            cand -v 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand --verbose 'More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides it'
            cand -q 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand --quiet 'No announcements (where services listen and export) and no status line on stderr; warnings and errors stay'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'flowctl;help'= {
            cand decode 'Decode IPFIX and NetFlow v9 records from pcap, pcapng or RFC 5655 (.ipfix) files'
            cand collect 'Receive IPFIX and NetFlow v9 over UDP, TCP and TLS, and print the records'
            cand replay 'Send the IPFIX and NetFlow v9 messages of captures to a collector, at a chosen pace'
            cand run 'Run a service of the flow-visibility pipeline'
            cand get 'Query a running aggregator'
            cand tc 'Mirror or redirect Pods'' traffic to a port or a tunnel (Antrea TrafficControl)'
            cand certs 'Make TLS certificates for IPFIX over TLS (a CA, the collector''s, the exporters'')'
            cand completion 'Print a shell completion script (e.g. `source <(flowctl completion bash)`)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'flowctl;help;decode'= {
        }
        &'flowctl;help;collect'= {
        }
        &'flowctl;help;replay'= {
        }
        &'flowctl;help;run'= {
            cand agent 'Run the Flow Exporter: conntrack → connection store → IPFIX flow records'
            cand aggregator 'Run the Flow Aggregator: correlate the source- and destination-Node records of each connection (aggregate mode), or forward every record with its exporter''s identity (proxy mode)'
        }
        &'flowctl;help;run;agent'= {
        }
        &'flowctl;help;run;aggregator'= {
        }
        &'flowctl;help;get'= {
            cand recordmetrics 'Records received, exported and dropped, and exporters connected (antctl get recordmetrics)'
            cand flowrecords 'The flows an aggregator in aggregate mode tracks, as it would export them now (antctl get flowrecords)'
        }
        &'flowctl;help;get;recordmetrics'= {
        }
        &'flowctl;help;get;flowrecords'= {
        }
        &'flowctl;help;tc'= {
            cand apply 'Validate TrafficControls and apply them to the cluster (server-side apply) or this host'
            cand get 'List TrafficControls (NAME, DIRECTION, ACTION, TARGET, AGE)'
            cand delete 'Delete TrafficControls; on this host, their filters and links go with them'
            cand status 'What this host realizes, read back from the kernel (NAME, PODS, DIRECTION, ACTION, TARGET, STATE)'
        }
        &'flowctl;help;tc;apply'= {
        }
        &'flowctl;help;tc;get'= {
        }
        &'flowctl;help;tc;delete'= {
        }
        &'flowctl;help;tc;status'= {
        }
        &'flowctl;help;certs'= {
            cand create 'Create a CA (or sign with the one in DIR), a server certificate and client certificates'
        }
        &'flowctl;help;certs;create'= {
        }
        &'flowctl;help;completion'= {
        }
        &'flowctl;help;help'= {
        }
    ]
    $completions[$command]
}
