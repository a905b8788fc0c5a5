//! Sealed `requestState` of MCP 2026-07-28 (MRTR): what a call that answered
//! `input_required` needs when the client sends it again — whether the human already
//! confirmed it, and the answers to the questions its tool asked so far.
//!
//! A state is sealed (HMAC-SHA256, rmcp's `RequestStateCodec`, with a key random per server
//! process) to the client, the tool and a digest of the arguments, expires after
//! [`STATE_TTL`], and is good for one retry: a tampered, transplanted, expired or replayed
//! state is refused with `-32602`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::ErrorData as McpError;
use rmcp::model::{ElicitResult, RequestStateCodec, SealOptions};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// How long a request state stays valid.
pub const STATE_TTL: Duration = Duration::from_secs(300);
/// The most bytes of answers one state carries.
const MAX_ANSWER_BYTES: usize = 64 << 10;

/// What a retry continues from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// The human confirmed the call in an earlier round: it is not asked again.
    #[serde(default)]
    pub confirmed: bool,
    /// The answers to the tool's questions so far, by question key.
    #[serde(default)]
    pub answers: BTreeMap<String, ElicitResult>,
}

/// A continuation with its one-use nonce, as sealed.
#[derive(Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    #[serde(flatten)]
    continuation: Continuation,
}

/// What a state is sealed to: the client, the tool and the arguments' digest.
pub struct Binding(Vec<u8>);

impl Binding {
    /// The binding of a call of `tool` by `identity` with `arguments`.
    pub fn new(identity: &str, tool: &str, arguments: &Map<String, Value>) -> Self {
        let mut canonical = String::new();
        canonical_json(&Value::Object(arguments.clone()), &mut canonical);
        let digest = Sha256::digest(canonical.as_bytes());
        let mut bound = Vec::new();
        for part in [identity.as_bytes(), tool.as_bytes(), &digest[..]] {
            bound.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bound.extend_from_slice(part);
        }
        Binding(bound)
    }
}

/// The sealing key and the states already used.
pub struct RequestStates {
    codec: RequestStateCodec,
    used: Mutex<HashMap<[u8; 16], Instant>>,
}

impl RequestStates {
    /// A fresh key, random per server process.
    ///
    /// # Errors
    /// The system has no randomness.
    pub fn new() -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        let codec = RequestStateCodec::try_new(key.to_vec())
            .unwrap_or_else(|_| unreachable!("a 32-byte key is long enough"));
        Ok(RequestStates {
            codec,
            used: Mutex::new(HashMap::new()),
        })
    }

    /// Seals `continuation` to `binding`, with a fresh nonce.
    ///
    /// # Errors
    /// The answers are larger than a state may carry (`-32603`, naming the limit).
    pub fn seal(&self, continuation: &Continuation, binding: &Binding) -> Result<String, McpError> {
        let mut nonce = [0u8; 16];
        // Without randomness the nonce would repeat; a repeated nonce is refused as used
        // after its first retry, so the failure is safe.
        let _ = getrandom::fill(&mut nonce);
        let sealed = Sealed {
            nonce: hex::encode(nonce),
            continuation: continuation.clone(),
        };
        let payload = serde_json::to_vec(&sealed).unwrap_or_default();
        if payload.len() > MAX_ANSWER_BYTES {
            return Err(McpError::internal_error(
                format!(
                    "the answers of this call are {} bytes; at most {MAX_ANSWER_BYTES} can be carried to the next round",
                    payload.len()
                ),
                None,
            ));
        }
        Ok(self.codec.seal_with(
            &payload,
            &SealOptions::new()
                .associated_data(&binding.0)
                .ttl(STATE_TTL),
        ))
    }

    /// Opens `state` for a call with `binding`, once.
    ///
    /// # Errors
    /// `-32602`: the state is tampered, for another call, expired, malformed, or was used
    /// already.
    pub fn open(&self, state: &str, binding: &Binding) -> Result<Continuation, McpError> {
        let refused = |why: &str| {
            McpError::invalid_params(
                format!(
                    "the requestState was refused ({why}): call the tool again without requestState to start over"
                ),
                None,
            )
        };
        let payload = self
            .codec
            .open_with(state, &binding.0)
            .map_err(|error| refused(&error.to_string()))?;
        let sealed: Sealed =
            serde_json::from_slice(&payload).map_err(|_| refused("it is malformed"))?;
        let nonce: [u8; 16] = hex::decode(&sealed.nonce)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| refused("it is malformed"))?;
        if !self.mark_used(nonce) {
            return Err(refused("it was used already"));
        }
        Ok(sealed.continuation)
    }

    /// Records `nonce` as used; false when it already was.
    fn mark_used(&self, nonce: [u8; 16]) -> bool {
        let now = Instant::now();
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // States expire after the TTL, so older entries can go.
        used.retain(|_, at| now.duration_since(*at) <= STATE_TTL + Duration::from_secs(60));
        used.insert(nonce, now).is_none()
    }
}

/// JSON with object keys sorted at every level, so the digest does not depend on key order.
fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical_json(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::ElicitationAction;
    use serde_json::json;

    fn arguments(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            unreachable!()
        };
        map
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let mut a = String::new();
        canonical_json(
            &json!({"b": 1, "a": {"d": [1, {"y": 2, "x": 1}], "c": "s"}}),
            &mut a,
        );
        assert_eq!(a, r#"{"a":{"c":"s","d":[1,{"x":1,"y":2}]},"b":1}"#);
    }

    #[test]
    fn a_state_opens_once_for_its_own_call_only() {
        let states = RequestStates::new().unwrap();
        let binding = Binding::new("alice", "t_x", &arguments(json!({"a": 1, "b": 2})));
        let mut continuation = Continuation {
            confirmed: true,
            ..Continuation::default()
        };
        continuation.answers.insert(
            "name".into(),
            ElicitResult::new(ElicitationAction::Accept).with_content(json!({"name": "Alice"})),
        );
        let state = states.seal(&continuation, &binding).unwrap();

        let other_client = Binding::new("bob", "t_x", &arguments(json!({"a": 1, "b": 2})));
        let other_arguments = Binding::new("alice", "t_x", &arguments(json!({"a": 2})));
        assert!(states.open(&state, &other_client).is_err());
        assert!(states.open(&state, &other_arguments).is_err());
        let mut tampered = state.clone();
        tampered.push('x');
        assert!(states.open(&tampered, &binding).is_err());

        let same_keys_reordered = Binding::new("alice", "t_x", &arguments(json!({"b": 2, "a": 1})));
        assert_eq!(
            states.open(&state, &same_keys_reordered).unwrap(),
            continuation
        );
        let again = states.open(&state, &binding).unwrap_err();
        assert!(again.message.contains("used already"), "{again:?}");
    }
}
