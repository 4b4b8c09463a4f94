//! Opaque pagination tokens: the LastEvaluatedKey, as JSON of strings sealed
//! with the cursor key.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::codec::Item;
use crate::adapters::cursor_key::CursorKey;
use crate::ports::StoreError;

pub fn encode(sealer: &CursorKey, key: &Item) -> Option<String> {
    let map: BTreeMap<&str, &str> = key
        .iter()
        .map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
        .collect::<Option<_>>()?;
    let json = serde_json::to_vec(&map).ok()?;
    Some(sealer.seal(&json))
}

/// Accepts only a token for the partition being read: a token cannot open another one.
pub fn decode(
    sealer: &CursorKey,
    token: &str,
    partition_attr: &str,
    partition: &str,
) -> Result<Item, StoreError> {
    let bytes = sealer.open(token)?;
    let map: BTreeMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::BadCursor)?;
    if map.get(partition_attr).map(String::as_str) != Some(partition) || map.len() > 4 {
        return Err(StoreError::BadCursor);
    }
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, AttributeValue::S(v)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_foreign_partitions() {
        let key: Item = [
            ("gsi1pk", "USER#a"),
            ("gsi1sk", "INTENT#1"),
            ("pk", "INTENT#1"),
            ("sk", "INTENT"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
        .collect();
        let sealer = CursorKey::random();
        let token = encode(&sealer, &key).expect("encodes");
        assert_eq!(
            decode(&sealer, &token, "gsi1pk", "USER#a").expect("decodes"),
            key
        );
        assert!(matches!(
            decode(&sealer, &token, "gsi1pk", "USER#b"),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            decode(&sealer, "not base64!", "gsi1pk", "USER#a"),
            Err(StoreError::BadCursor)
        ));
        assert!(matches!(
            decode(&CursorKey::random(), &token, "gsi1pk", "USER#a"),
            Err(StoreError::BadCursor)
        ));
    }
}
