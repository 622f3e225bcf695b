//! Every vector of telemetry-vectors.json (copied from shared/), byte for byte.

use groundwork_telemetry::{
    decode_binary_batch, encode_binary_batch, SignedTelemetry, TelemetryBody, TelemetryError,
    TelemetryV1,
};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let all: Value = serde_json::from_str(include_str!("data/telemetry-vectors.json")).unwrap();
    all["vectors"].as_array().unwrap().clone()
}

fn seed(vector: &Value) -> [u8; 32] {
    hex::decode(vector["device_seed_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn every_vector_reproduces_canonical_bytes_and_signature() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 4);
    for vector in &vectors {
        let kind = vector["kind"].as_str().unwrap();
        let wire = vector["wire"].to_string();
        let parsed = SignedTelemetry::from_json(&wire).unwrap();
        assert_eq!(
            hex::encode(parsed.message.canonical_bytes()),
            vector["canonical_hex"].as_str().unwrap(),
            "{kind}: canonical bytes"
        );
        parsed
            .verify()
            .unwrap_or_else(|error| panic!("{kind}: {error}"));
        // Signing the parsed message with the device seed gives the vector's signature.
        let resigned = parsed.message.clone().sign(&seed(vector));
        assert_eq!(
            bs58::encode(resigned.signature).into_string(),
            vector["signature"].as_str().unwrap(),
            "{kind}: signature"
        );
        // The device key is the seed's public key.
        assert_eq!(
            parsed.message.device.to_string(),
            vector["device"].as_str().unwrap()
        );
        // Round trips: canonical bytes and wire JSON.
        let canonical = hex::decode(vector["canonical_hex"].as_str().unwrap()).unwrap();
        assert_eq!(
            TelemetryV1::from_canonical_bytes(&canonical).unwrap(),
            parsed.message
        );
        let reserialized: Value = serde_json::from_str(&parsed.to_json()).unwrap();
        assert_eq!(reserialized, vector["wire"], "{kind}: wire JSON");
    }
}

/// Every way of changing one field of a signed message.
fn tampered(message: &TelemetryV1) -> Vec<TelemetryV1> {
    let mut variants = Vec::new();
    let mut push = |change: &dyn Fn(&mut TelemetryV1)| {
        let mut copy = message.clone();
        change(&mut copy);
        assert_ne!(&copy, message);
        variants.push(copy);
    };
    push(&|m| m.network.0[0] ^= 1);
    push(&|m| m.seq += 1);
    push(&|m| m.timestamp_ms -= 1);
    push(&|m| match &mut m.body {
        TelemetryBody::Heartbeat { lat_e7, .. } => *lat_e7 += 1,
        TelemetryBody::DataSession { bytes_down, .. } => *bytes_down += 1,
        TelemetryBody::Beacon { nonce, .. } => nonce[15] ^= 1,
        TelemetryBody::Witness { rssi_dbm, .. } => *rssi_dbm += 1,
    });
    push(&|m| match &mut m.body {
        TelemetryBody::Heartbeat { firmware, .. } => *firmware += 1,
        TelemetryBody::DataSession { payer, .. } => payer.0[31] ^= 1,
        TelemetryBody::Beacon { frequency_hz, .. } => *frequency_hz += 1,
        TelemetryBody::Witness { beacon_device, .. } => beacon_device.0[0] ^= 1,
    });
    variants
}

#[test]
fn a_vector_with_any_field_changed_is_rejected() {
    for vector in vectors() {
        let signed = SignedTelemetry::from_json(&vector["wire"].to_string()).unwrap();
        for message in tampered(&signed.message) {
            let forged = SignedTelemetry {
                message,
                signature: signed.signature,
            };
            assert_eq!(forged.verify(), Err(TelemetryError::BadSignature));
        }
        // Another device's key with this signature.
        let mut other = signed.clone();
        other.message.device = vectors()[0]["device"].as_str().unwrap().parse().unwrap();
        if other.message.device != signed.message.device {
            assert!(other.verify().is_err());
        }
        // A flipped signature bit.
        let mut flipped = signed.clone();
        flipped.signature[10] ^= 1;
        assert!(flipped.verify().is_err());
    }
}

#[test]
fn malformed_wire_objects_are_refused() {
    let vector = &vectors()[0]["wire"];
    let mut unknown = vector.clone();
    unknown["extra"] = Value::from(1);
    assert!(SignedTelemetry::from_json(&unknown.to_string()).is_err());
    let mut bad_key = vector.clone();
    bad_key["device"] = Value::from("not-base58-0OIl");
    assert!(SignedTelemetry::from_json(&bad_key.to_string()).is_err());
    let mut short_signature = vector.clone();
    short_signature["signature"] = Value::from("3yZe7d");
    assert!(SignedTelemetry::from_json(&short_signature.to_string()).is_err());
    let mut wrong_type = vector.clone();
    wrong_type["seq"] = Value::from("1000");
    assert!(SignedTelemetry::from_json(&wrong_type.to_string()).is_err());
    let mut unknown_body = vector.clone();
    unknown_body["body"] = serde_json::json!({"teleport": {}});
    assert!(SignedTelemetry::from_json(&unknown_body.to_string()).is_err());
    assert_eq!(
        TelemetryV1::from_canonical_bytes(b"NOT-THE-DOMAIN!!"),
        Err(TelemetryError::WrongDomain)
    );
}

#[test]
fn a_binary_batch_of_the_vectors_is_their_canonical_bytes_and_signatures() {
    let vectors = vectors();
    let messages: Vec<SignedTelemetry> = vectors
        .iter()
        .map(|vector| SignedTelemetry::from_json(&vector["wire"].to_string()).unwrap())
        .collect();
    let batch = encode_binary_batch(&messages);
    // count || (canonical bytes || signature) for each vector, in order.
    let mut expected = (vectors.len() as u32).to_le_bytes().to_vec();
    for vector in &vectors {
        expected.extend(hex::decode(vector["canonical_hex"].as_str().unwrap()).unwrap());
        expected.extend(
            bs58::decode(vector["signature"].as_str().unwrap())
                .into_vec()
                .unwrap(),
        );
    }
    assert_eq!(batch, expected);
    let decoded = decode_binary_batch(&batch, vectors.len()).unwrap();
    assert_eq!(decoded, messages);
    assert!(decoded.iter().all(|signed| signed.verify().is_ok()));
}
