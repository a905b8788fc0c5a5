//! `kill -9` of the server mid-load: every answered call is in the audit log once, the chain
//! verifies, and a restart on the same file needs no repair (a record torn by the kill was
//! never answered, and is cut at start).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{RawServer, call_request, manifest, run};

/// Calls in flight when the server is killed: echoes and naps.
const CALLS: u64 = 240;
/// Answers read before the kill.
const BEFORE_KILL: usize = 60;

/// The trace id of call `id`, which its audit record carries as `correlation_id`.
fn trace_id(id: u64) -> String {
    format!("{:032x}", 0xdead_0000_0000u64 + id)
}

fn whole_records(text: &str) -> Vec<Value> {
    text.lines()
        .take(text.matches('\n').count())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn a_killed_server_restarts_on_its_audit_log_with_every_answered_call_in_it() {
    let manifest = manifest(
        &[("echo", "echo"), ("hog", "hog")],
        "[audit]\npath = \"audit.jsonl\"\n",
    );
    let path = manifest.dir.path().join("audit.jsonl");
    let mut server = RawServer::start(&manifest, None);
    server.initialize().await;
    for id in 1..=CALLS {
        let meta = json!({ "traceparent": format!("00-{}-00f067aa0ba902b7-01", trace_id(id)) });
        let request = if id % 4 == 0 {
            call_request(id, "hog_nap", json!({ "milliseconds": 20 }), Some(meta))
        } else {
            call_request(
                id,
                "echo_echo",
                json!({ "message": format!("nonce-{id}") }),
                Some(meta),
            )
        };
        server.send_line(request.to_string().as_bytes()).await;
    }
    let mut answers = Vec::new();
    while answers.len() < BEFORE_KILL {
        answers.push(server.recv().await);
    }
    answers.extend(server.kill().await);
    let answered: BTreeSet<u64> = answers
        .iter()
        .filter_map(|answer| answer["id"].as_u64())
        .collect();
    assert!(answered.len() >= BEFORE_KILL, "{answers:?}");
    for answer in &answers {
        let id = answer["id"].as_u64().unwrap();
        if id % 4 != 0 {
            let text = answer["result"]["content"][0]["text"].as_str();
            assert_eq!(text, Some(format!("nonce-{id}").as_str()), "{answer}");
        }
    }

    // Up to its last whole line the file verifies, and holds every answered call once.
    let text = std::fs::read_to_string(&path).unwrap();
    let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
    let checked = manifest.dir.path().join("whole.jsonl");
    std::fs::write(&checked, whole).unwrap();
    let (code, stdout, stderr) = run(&["audit", "verify", checked.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let before = whole_records(whole);
    let traced: Vec<&str> = before
        .iter()
        .filter_map(|record| record["correlation_id"].as_str())
        .collect();
    let distinct: BTreeSet<&str> = traced.iter().copied().collect();
    assert_eq!(distinct.len(), traced.len(), "a call recorded twice");
    for id in &answered {
        let records = before
            .iter()
            .filter(|record| record["correlation_id"] == trace_id(*id))
            .count();
        assert_eq!(records, 1, "call {id}: {records} records");
    }

    // A kill can also land inside a record's write: its call was never answered.
    let torn = &whole.lines().last().unwrap()[..40];
    std::fs::write(&path, format!("{text}{torn}")).unwrap();

    // The restart needs no repair: it cuts the torn record, says so, and continues the chain.
    let mut server = RawServer::start(&manifest, None);
    server.initialize().await;
    let answer = server
        .request(call_request(
            1,
            "echo_echo",
            json!({ "message": "again" }),
            None,
        ))
        .await;
    assert_eq!(answer["result"]["content"][0]["text"], "again", "{answer}");
    server.finish().await;
    let (code, stdout, stderr) = run(&["audit", "verify", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.starts_with(whole),
        "records before the kill are untouched"
    );
    let added = whole_records(&after[whole.len()..]);
    let outcomes: Vec<&str> = added
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.first(), Some(&"audit_tail_cut"), "{added:?}");
    assert_eq!(outcomes.last(), Some(&"ok"), "{added:?}");
    assert_eq!(added[0]["seq"], before.len() as u64 + 1);
}
