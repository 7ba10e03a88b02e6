//! Issue #22, defects 10 and 11: the commands README.md shows run as written and print what it
//! shows, the files they name are shipped in `examples/` and accepted, and the metric names it
//! documents are the ones `/metrics` serves.
//!
//! The commands are read from README.md's ```sh blocks, so a changed command is the one run. Each
//! either runs here or has a reason in [`skip_reason`]; one with neither fails
//! [`every_readme_command_is_run_or_skipped_with_a_reason`].
//!
//! What running changes, and why (nothing else is changed):
//! - Fixed ports (4739, 10348) become free ones: other tests run on this machine at the same
//!   time. A collector the examples export to (10.0.0.9:4739) is a `flowctl collect` of the
//!   test's own; `/var/log/flows.csv` is a file in the test's directory; a service is given
//!   `--metrics-addr` (and a `-l` when it has none) on free ports, and `get` its `--server`;
//!   the certificates an aggregator makes go to `$STATE_DIRECTORY`, the test's directory.
//! - Tables the README shows for commands without `-o` are asked for with `-o table`: that is
//!   the default on a terminal, and the test's stdout is a pipe, where the default is JSON.
//! - `cargo run --release --` is the binary under test (the same code, not built again).
//! - Live output (receive times, ephemeral ports, rates) is compared with those values masked and
//!   runs of spaces as one; the records of a live collector are compared as a set, since its
//!   sockets read the exporters' datagrams in parallel.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use flowctl::core::config::agent::AgentConfig;
use flowctl::core::config::aggregator::AggregatorConfig;
use flowctl::core::inventory::Inventory;
use flowctl::core::trafficcontrol;

use crate::util::{Service, flowctl, free_port};

/// One command of a ```sh block and the lines the README shows it printing.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    shown: Vec<String>,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

/// The commands of every ```sh block: in a block with `$ ` prompts, each prompted line and the
/// output under it; in one without, each line (`\` continues it). `# …` comments are dropped.
fn examples(text: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((_, l)) = lines.next() {
        if l.trim_end() != "```sh" {
            continue;
        }
        let mut block = Vec::new();
        for (n, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            block.push((n + 1, l));
        }
        let prompted = block.iter().any(|(_, l)| l.starts_with("$ "));
        let mut i = 0;
        while i < block.len() {
            let (line, first) = block[i];
            i += 1;
            let mut command = first.strip_prefix("$ ").unwrap_or(first).to_owned();
            while command.ends_with('\\') && i < block.len() {
                command.pop();
                command.push(' ');
                command.push_str(block[i].1);
                i += 1;
            }
            let command = command.find(" #").map_or(command.as_str(), |at| &command[..at]);
            let command = command.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut shown = Vec::new();
            while prompted && i < block.len() && !block[i].1.starts_with("$ ") {
                shown.push(block[i].1.to_owned());
                i += 1;
            }
            if !command.is_empty() {
                out.push(Example { line, command, shown });
            }
        }
    }
    out
}

/// Why a README command is not run here, or `None` when a test of this module runs it.
fn skip_reason(command: &str) -> Option<&'static str> {
    let reasons = [
        ("cargo test", "it is the test suite this test is part of"),
        ("cargo bench", "criterion benchmarks: minutes of both cores, figures of the machine"),
        ("bench/", "benchmark scripts: they need the peers (tshark, nfcapd, …) and minutes of both cores"),
        ("bench.pcap", "bench.pcap is built by ../shared/tools/make_ipfix_pcap.py; it runs until Ctrl-C"),
        (
            "flowctl run agent",
            "needs root and conntrack in a network namespace (kernel tests are not run here); \
             the files it names are checked by readme_example_files_are_shipped_and_accepted_as_written",
        ),
        (
            "flowctl tc ",
            "needs root, tc and the Pods' interfaces; the files it names are checked by \
             readme_example_files_are_shipped_and_accepted_as_written",
        ),
        ("--clickhouse", "needs a ClickHouse server (clickhouse:8123)"),
        ("--kubeconfig", "needs a Kubernetes API server"),
    ];
    reasons.into_iter().find(|(what, _)| command.contains(what)).map(|(_, why)| why)
}

/// The test of this module that runs a command.
fn runner(command: &str) -> Option<&'static str> {
    let runners = [
        ("cargo run --release -- decode ", "readme_decode_commands_print_exactly_what_the_readme_shows"),
        ("flowctl decode ", "readme_decode_commands_print_exactly_what_the_readme_shows"),
        ("flowctl collect ", "readme_collect_and_replay_print_what_the_readme_shows"),
        ("flowctl replay ", "readme_collect_and_replay_print_what_the_readme_shows"),
        ("flowctl run aggregator ", "readme_aggregator_commands_start_answer_and_stop"),
        ("flowctl get flowrecords ", "readme_aggregator_commands_start_answer_and_stop"),
        ("flowctl certs create ", "readme_certs_and_completion_commands_work"),
        ("source <(flowctl completion bash)", "readme_certs_and_completion_commands_work"),
    ];
    runners.into_iter().find(|(start, _)| command.starts_with(start)).map(|(_, test)| test)
}

fn runnable(start: &str) -> Vec<Example> {
    examples(&readme())
        .into_iter()
        .filter(|e| e.command.starts_with(start) && skip_reason(&e.command).is_none())
        .collect()
}

/// The arguments after `flowctl` (or `cargo run --release --`).
fn args_of(command: &str) -> Vec<String> {
    let rest = command
        .strip_prefix("flowctl ")
        .or_else(|| command.strip_prefix("cargo run --release -- "))
        .unwrap_or_else(|| panic!("not a flowctl command: {command}"));
    rest.split_whitespace().map(str::to_owned).collect()
}

fn spawn(args: &[String], dir: &Path) -> Service {
    Service::spawn(args, |c| {
        c.env("STATE_DIRECTORY", dir).current_dir(root());
    })
}

fn wait_listening(s: &mut Service, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = s.0.try_wait().unwrap() {
            let mut err = String::new();
            s.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("exited {status} before listening on {port}: {err}");
        }
        assert!(Instant::now() < deadline, "nothing listens on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `GET path` on 127.0.0.1:port: the status line and the body.
fn http_get(port: u16, path: &str) -> (String, String) {
    let mut http = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    http.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).unwrap();
    let mut text = String::new();
    http.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

fn run_in(dir: &Path, args: &[String]) -> Output {
    flowctl().current_dir(dir).args(args).output().unwrap()
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes).lines().map(str::to_owned).collect()
}

/// A line with what changes from run to run masked: receive times, ports on 127.0.0.1, the
/// elapsed time and rates of a replay report; runs of spaces as one.
fn masked(line: &str) -> String {
    let line = match line.split_once(" in ") {
        Some((sent, _)) if line.starts_with("sent ") => format!("{sent} in <elapsed>"),
        _ => line.to_owned(),
    };
    line.split_whitespace()
        .map(|token| {
            if token.len() == 27 && token.ends_with('Z') && token.as_bytes()[10] == b'T' {
                return "<time>".to_owned();
            }
            match token.find("127.0.0.1:") {
                Some(at) => format!("{}127.0.0.1:<port>", &token[..at]),
                None => token.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn masked_set<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    let mut set: Vec<String> = lines.iter().map(|l| masked(l.as_ref())).filter(|l| !l.is_empty()).collect();
    set.sort();
    set
}

/// Log lines (warnings, notes) are not what a command prints as its result.
fn without_log_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !["WARN", "INFO", "ERROR"].iter().any(|level| l.split_whitespace().take(3).any(|w| w == *level)))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_readme_command_is_run_or_skipped_with_a_reason() {
    let all = examples(&readme());
    assert!(all.len() >= 20, "the parser found the README's commands: {all:#?}");
    let mut uncovered = Vec::new();
    for e in &all {
        match (skip_reason(&e.command), runner(&e.command)) {
            (Some(why), _) => eprintln!("README.md:{}: skipped: {}: {why}", e.line, e.command),
            (None, Some(test)) => eprintln!("README.md:{}: run by {test}: {}", e.line, e.command),
            (None, None) => uncovered.push(format!("README.md:{}: {}", e.line, e.command)),
        }
    }
    assert!(uncovered.is_empty(), "README commands no test runs and none skips with a reason:\n{uncovered:#?}");
}

/// Issue #22, defect 11 (first half): README.md's `decode -o yaml … | tail -14` showed 15 lines.
/// Every decode command prints exactly what the README shows under it (stdout, then stderr, as
/// a terminal shows them); the quick start's table is the block after its paragraph.
#[test]
fn readme_decode_commands_print_exactly_what_the_readme_shows() {
    let text = readme();
    let mut decodes = runnable("flowctl decode ");
    let quick = runnable("cargo run --release -- decode ");
    assert_eq!(quick.len(), 1, "the quick start decodes: {quick:?}");
    for mut e in quick {
        let table: Vec<String> = text
            .lines()
            .skip_while(|l| !l.starts_with("FRAME  TIME"))
            .take_while(|l| !l.starts_with("```"))
            .map(str::to_owned)
            .collect();
        assert!(!table.is_empty(), "the quick start shows the table decode prints");
        e.shown = table;
        decodes.push(e);
    }
    assert!(decodes.len() >= 4, "{decodes:?}");
    for e in decodes {
        // `| tail -N` and `| head -N` keep the last or first N lines.
        let (command, cut) = match (e.command.split_once(" | tail -"), e.command.split_once(" | head -")) {
            (Some((c, n)), _) => (c.to_owned(), Some((false, n.parse::<usize>().unwrap()))),
            (None, Some((c, n))) => (c.to_owned(), Some((true, n.parse::<usize>().unwrap()))),
            (None, None) => (e.command.clone(), None),
        };
        let mut args = args_of(&command);
        if !args.iter().any(|a| a == "-o") {
            args.splice(1..1, ["-o".to_owned(), "table".to_owned()]);
        }
        let out = run_in(root(), &args);
        assert!(out.status.success(), "README.md:{}: {command}: {}", e.line, String::from_utf8_lossy(&out.stderr));
        let mut printed = lines(&out.stdout);
        if let Some((head, n)) = cut {
            if head {
                printed.truncate(n);
            } else {
                printed = printed.split_off(printed.len().saturating_sub(n));
            }
            assert_eq!(e.shown.len(), n, "README.md:{}: `{}` shows {} lines", e.line, e.command, e.shown.len());
        } else {
            printed.extend(lines(&out.stderr));
        }
        assert_eq!(printed, e.shown, "README.md:{}: {}", e.line, e.command);
    }
}

/// `flowctl collect` as the README starts it, fed by the README's UDP replay of the quick start
/// capture, then Ctrl-C: the records and the summary it shows. Each replay command, to a
/// collector listening as the README says, prints the report the README shows.
#[test]
fn readme_collect_and_replay_print_what_the_readme_shows() {
    let collect = runnable("flowctl collect ");
    let replays = runnable("flowctl replay ");
    assert_eq!((collect.len(), replays.len()), (1, 2), "{collect:?} {replays:?}");
    let dir = tempfile::tempdir().unwrap();
    let to_port = |port: u16, args: Vec<String>| -> Vec<String> {
        args.into_iter().map(|a| a.replace("127.0.0.1:4739", &format!("127.0.0.1:{port}"))).collect()
    };
    let collector = |port: u16| {
        let mut args = to_port(port, args_of(&collect[0].command));
        args.splice(1..1, ["-o".to_owned(), "table".to_owned()]);
        let mut s = spawn(&args, dir.path());
        // Its UDP socket first (a probe connection would be counted in the summary), then TCP.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            assert!(s.0.try_wait().unwrap().is_none() && Instant::now() < deadline, "collect is not up");
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    };

    let udp = replays.iter().find(|e| e.command.contains("--to udp://")).expect("a UDP replay");
    let port = free_port();
    let listening = collector(port);
    let sent = run_in(root(), &to_port(port, args_of(&udp.command)));
    assert!(sent.status.success(), "{}: {}", udp.command, String::from_utf8_lossy(&sent.stderr));
    assert_eq!(lines(&sent.stderr).iter().map(|l| masked(l)).collect::<Vec<_>>(), masked_lines(&udp.shown));
    // Loopback datagrams are in the collector's sockets once sendmmsg returns; a moment for its
    // threads to print them before Ctrl-C (which reads what is left in any case).
    std::thread::sleep(Duration::from_millis(500));
    let (status, out, err) = listening.stop("-INT");
    assert!(status.success(), "collect exit {status}: {err}");
    let shown = &collect[0].shown;
    let ctrl_c = shown.iter().position(|l| l == "^C").expect("the README shows Ctrl-C");
    assert_eq!(masked_set(&lines(out.as_bytes())), masked_set(&shown[..ctrl_c]), "collect's records");
    assert_eq!(masked_set(&without_log_lines(&err)), masked_set(&shown[ctrl_c + 1..]), "collect's summary: {err}");

    for e in replays.iter().filter(|e| !std::ptr::eq(*e, udp)) {
        let port = free_port();
        let mut listening = collector(port);
        wait_listening(&mut listening, port);
        let sent = run_in(root(), &to_port(port, args_of(&e.command)));
        assert!(sent.status.success(), "{}: {}", e.command, String::from_utf8_lossy(&sent.stderr));
        assert_eq!(lines(&sent.stderr).iter().map(|l| masked(l)).collect::<Vec<_>>(), masked_lines(&e.shown));
        let (status, _, err) = listening.stop("-INT");
        assert!(status.success(), "collect exit {status}: {err}");
    }
}

fn masked_lines(shown: &[String]) -> Vec<String> {
    shown.iter().map(|l| masked(l)).collect()
}

/// Every `flowctl run aggregator` command the README shows that needs nothing absent starts as
/// written (the examples' collector being a local `flowctl collect`), answers `/metrics`, serves
/// the README's `get flowrecords` query, and stops on SIGTERM with exit 0.
#[test]
fn readme_aggregator_commands_start_answer_and_stop() {
    let aggregators = runnable("flowctl run aggregator ");
    let gets = runnable("flowctl get flowrecords ");
    assert!(aggregators.len() >= 2 && !gets.is_empty(), "{aggregators:?} {gets:?}");
    let dir = tempfile::tempdir().unwrap();
    let collector_port = free_port();
    let mut downstream = spawn(
        &["collect", "-o", "json", "-l", &format!("tcp://127.0.0.1:{collector_port}")].map(String::from),
        dir.path(),
    );
    wait_listening(&mut downstream, collector_port);
    for e in &aggregators {
        let (listen, api) = (free_port(), free_port());
        let mut args: Vec<String> = args_of(&e.command)
            .into_iter()
            .map(|a| {
                a.replace("0.0.0.0:4739", &format!("127.0.0.1:{listen}"))
                    .replace("10.0.0.9:4739", &format!("127.0.0.1:{collector_port}"))
                    .replace("/var/log/flows.csv", &dir.path().join("flows.csv").display().to_string())
            })
            .collect();
        if !args.iter().any(|a| a == "-l" || a == "--listen") {
            // The file's transport (tls) on a free port instead of 4739.
            args.extend(["-l".to_owned(), format!("tls://127.0.0.1:{listen}")]);
        }
        args.extend(["--metrics-addr".to_owned(), format!("127.0.0.1:{api}")]);
        let mut service = spawn(&args, dir.path());
        wait_listening(&mut service, api);
        wait_listening(&mut service, listen);
        let (status, body) = http_get(api, "/metrics");
        assert!(status.contains("200"), "README.md:{}: /metrics: {status}", e.line);
        assert!(body.contains("flowctl_aggregator_records_received_total"), "{body}");
        // Proxy mode keeps no flows: /flowrecords is aggregate mode's.
        for get in gets.iter().filter(|_| !e.command.contains("--mode proxy")) {
            let mut args = args_of(&get.command);
            args.extend(["--server".to_owned(), format!("http://127.0.0.1:{api}")]);
            let out = run_in(root(), &args);
            assert!(
                out.status.success(),
                "README.md:{}: {}: {}",
                get.line,
                get.command,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let (status, _, err) = service.stop("-TERM");
        assert!(status.success(), "README.md:{}: {}: exit {status}: {err}", e.line, e.command);
    }
    let (status, _, err) = downstream.stop("-TERM");
    assert!(status.success(), "collect: {err}");
}

/// `flowctl certs create` as the README shows it makes the CA, the server's and both clients'
/// files; the README's `source <(flowctl completion bash)` gives bash a completion for flowctl.
#[test]
fn readme_certs_and_completion_commands_work() {
    let certs = runnable("flowctl certs create ");
    assert_eq!(certs.len(), 1, "{certs:?}");
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &args_of(&certs[0].command));
    assert!(out.status.success(), "{}: {}", certs[0].command, String::from_utf8_lossy(&out.stderr));
    let mut made: Vec<String> = std::fs::read_dir(dir.path().join("pki"))
        .unwrap()
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    made.sort();
    assert_eq!(
        made,
        [
            "ca.crt",
            "ca.key",
            "client-node-1.crt",
            "client-node-1.key",
            "client-node-2.crt",
            "client-node-2.key",
            "server.crt",
            "server.key"
        ]
    );

    let completion = runnable("source <(flowctl completion bash)");
    assert_eq!(completion.len(), 1, "{completion:?}");
    let bin = assert_cmd::cargo::cargo_bin("flowctl");
    let path = format!("{}:{}", bin.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("bash")
        .env("PATH", path)
        .args(["-c", &format!("{} && complete -p flowctl", completion[0].command)])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("complete "), "{}", String::from_utf8_lossy(&out.stdout));
}

/// Issue #22, defect 10: the README's commands named `pods.yaml`, `antrea-agent.conf`,
/// `flow-aggregator.conf` and `mirror.yaml` that the repository did not have. Every `examples/…` file a README
/// command names exists, and each is read as the command reads it (the agent cannot run here, so
/// its files go through the same loaders `run agent` uses): no unknown key, no warning, every
/// value accepted.
#[test]
fn readme_example_files_are_shipped_and_accepted_as_written() {
    let mut named = BTreeMap::new();
    for e in examples(&readme()) {
        for word in e.command.split_whitespace().filter(|w| w.starts_with("examples/")) {
            named.insert(word.to_owned(), e.line);
        }
    }
    for name in
        ["examples/pods.yaml", "examples/antrea-agent.conf", "examples/flow-aggregator.conf", "examples/mirror.yaml"]
    {
        assert!(named.contains_key(name), "a README command uses {name}: {named:?}");
    }
    for (name, line) in &named {
        let path: PathBuf = root().join(name);
        assert!(path.is_file(), "README.md:{line} names {name}, which is not in the repository");
        if name.ends_with("pods.yaml") {
            let inventory = Inventory::load(&path).unwrap();
            assert!(!inventory.node.is_empty() && !inventory.pods.is_empty(), "{name}: a Node and its Pods");
        } else if name.ends_with("antrea-agent.conf") {
            let mut loaded = AgentConfig::load(&path).unwrap();
            assert!(loaded.unknown_keys.is_empty() && loaded.warnings.is_empty(), "{name}: {loaded:?}");
            assert!(loaded.config.normalize().unwrap().is_empty(), "{name}: timeouts raised");
        } else if name.ends_with("flow-aggregator.conf") {
            let loaded = AggregatorConfig::load(&path).unwrap();
            assert!(loaded.unknown_keys.is_empty(), "{name}: {:?}", loaded.unknown_keys);
            loaded.config.validate().unwrap();
        } else if name.ends_with("mirror.yaml") {
            // What `tc status` then shows in the README: mirror-web on default/web-0 only.
            let tcs = trafficcontrol::load_checked(&std::fs::read_to_string(&path).unwrap(), name).unwrap();
            let inventory = Inventory::load(&root().join("examples/pods.yaml")).unwrap();
            let pods = trafficcontrol::local::inventory_pods(&inventory);
            let bound: Vec<_> = trafficcontrol::plan::bindings(&tcs, &pods, &inventory.namespaces)
                .into_iter()
                .map(|b| (b.tc, b.pod, b.interface))
                .collect();
            assert_eq!(bound, [("mirror-web".to_owned(), "default/web-0".to_owned(), "veth-web0".to_owned())]);
        } else {
            panic!("README.md:{line}: {name} has no check here");
        }
    }
}

/// Issue #22, defect 11 (second half): every `flowctl_…` metric README.md names is served by
/// `/metrics` of the aggregator (with a flow log and a downstream collector, so every sink's
/// series are there) or the collector. The agent's names are checked against what the agent
/// renders by `core::agent::tests` (the agent needs conntrack in a network namespace).
#[test]
fn readme_metric_names_are_served_by_metrics() {
    let names = metric_names(&readme());
    assert!(names.iter().any(|n| n.starts_with("flowctl_sink_")), "{names:?}");
    let dir = tempfile::tempdir().unwrap();
    let (downstream_port, downstream_api, listen, api) = (free_port(), free_port(), free_port(), free_port());
    let collect = [
        "collect".to_owned(),
        "-o".to_owned(),
        "json".to_owned(),
        "-l".to_owned(),
        format!("tcp://127.0.0.1:{downstream_port}"),
        "--metrics-addr".to_owned(),
        format!("127.0.0.1:{downstream_api}"),
    ];
    let mut downstream = spawn(&collect, dir.path());
    wait_listening(&mut downstream, downstream_api);
    let aggregator = [
        "run".to_owned(),
        "aggregator".to_owned(),
        "-l".to_owned(),
        format!("tcp://127.0.0.1:{listen}"),
        "--flow-collector".to_owned(),
        format!("127.0.0.1:{downstream_port}:tcp"),
        "--flow-log".to_owned(),
        dir.path().join("flows.csv").display().to_string(),
        "--metrics-addr".to_owned(),
        format!("127.0.0.1:{api}"),
    ];
    let mut service = spawn(&aggregator, dir.path());
    wait_listening(&mut service, api);
    let mut served = served_names(&http_get(api, "/metrics").1);
    served.extend(served_names(&http_get(downstream_api, "/metrics").1));
    for name in names.iter().filter(|n| !n.starts_with("flowctl_agent_")) {
        let found = match name.strip_suffix('*') {
            Some(prefix) => served.iter().any(|s| s.starts_with(prefix)),
            None => served.contains(name),
        };
        assert!(found, "README.md names {name}, which /metrics does not serve: {served:?}");
    }
    service.stop("-TERM");
    downstream.stop("-TERM");
}

/// The metric names in the text: `flowctl_…` words, `{a,b}` alternatives expanded, a label set
/// (`{sink=…}`) dropped, a trailing `*` kept as a prefix.
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in text.match_indices("flowctl_") {
        if text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let mut stems = vec![String::new()];
        let mut rest = &text[at..];
        while let Some(c) = rest.chars().next() {
            if c.is_ascii_alphanumeric() || c == '_' {
                stems.iter_mut().for_each(|s| s.push(c));
                rest = &rest[1..];
            } else if c == '*' {
                stems.iter_mut().for_each(|s| s.push(c));
                break;
            } else if c == '{' {
                let Some(end) = rest.find('}') else { break };
                let inner = &rest[1..end];
                if inner.contains('=') || inner.contains('…') {
                    break;
                }
                stems = stems.iter().flat_map(|s| inner.split(',').map(move |alt| format!("{s}{alt}"))).collect();
                rest = &rest[end + 1..];
            } else {
                break;
            }
        }
        names.extend(stems.into_iter().map(|s| s.trim_end_matches('_').to_owned()));
    }
    names.sort();
    names.dedup();
    names
}

/// What an OpenMetrics text serves: every sample's name, and every family's (a counter's as its
/// samples are named, with `_total`, also while it has no series yet).
fn served_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in text.lines() {
        if let Some(family) = line.strip_prefix("# TYPE ") {
            let mut words = family.split(' ');
            let (name, kind) = (words.next().unwrap_or_default(), words.next().unwrap_or_default());
            names.push(if kind == "counter" { format!("{name}_total") } else { name.to_owned() });
        } else if !line.starts_with('#') {
            names.extend(line.split(['{', ' ']).next().map(str::to_owned));
        }
    }
    names
}
