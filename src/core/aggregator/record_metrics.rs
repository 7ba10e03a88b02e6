//! The aggregator's record metrics as antctl shows them (`antctl get recordmetrics`, reference
//! §4): the JSON keys and `omitempty` behaviour of Antrea's API, and its table columns.

use serde::{Deserialize, Serialize};

/// `GET /recordmetrics`. Zero numbers and false flags are left out, as Go's `omitempty` does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordMetrics {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_records_exported: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_records_received: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_records_dropped: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_flows: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub num_conn_to_collector: u64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub with_click_house_exporter: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub with_s3_exporter: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub with_log_exporter: bool,
    #[serde(default, skip_serializing_if = "is_false", rename = "withIPFIXExporter")]
    pub with_ipfix_exporter: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl RecordMetrics {
    /// The aggregator's status line on a terminal.
    pub fn status_line(&self) -> String {
        use crate::core::output::plural::counted;
        format!(
            "status: {} in, {} out, {} dropped, {} held, {} connected",
            counted(self.num_records_received, "record", "records"),
            self.num_records_exported,
            self.num_records_dropped,
            counted(self.num_flows, "flow", "flows"),
            counted(self.num_conn_to_collector, "exporter", "exporters"),
        )
    }

    /// antctl's table columns, in its order.
    pub const COLUMNS: [&'static str; 9] = [
        "RECORDS-EXPORTED",
        "RECORDS-RECEIVED",
        "RECORDS-DROPPED",
        "FLOWS",
        "EXPORTERS-CONNECTED",
        "CLICKHOUSE-EXPORTER",
        "S3-EXPORTER",
        "LOG-EXPORTER",
        "IPFIX-EXPORTER",
    ];

    /// The row under [`COLUMNS`](Self::COLUMNS).
    pub fn row(&self) -> [String; 9] {
        [
            self.num_records_exported.to_string(),
            self.num_records_received.to_string(),
            self.num_records_dropped.to_string(),
            self.num_flows.to_string(),
            self.num_conn_to_collector.to_string(),
            self.with_click_house_exporter.to_string(),
            self.with_s3_exporter.to_string(),
            self.with_log_exporter.to_string(),
            self.with_ipfix_exporter.to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keys_are_antreas_and_zeros_are_left_out() {
        let m = RecordMetrics {
            num_records_exported: 5,
            num_records_received: 7,
            num_conn_to_collector: 2,
            with_ipfix_exporter: true,
            ..RecordMetrics::default()
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"numRecordsExported":5,"numRecordsReceived":7,"numConnToCollector":2,"withIPFIXExporter":true}"#
        );
        assert_eq!(serde_json::from_str::<RecordMetrics>(&json).unwrap(), m);
        assert_eq!(serde_json::to_string(&RecordMetrics::default()).unwrap(), "{}");
    }
}
