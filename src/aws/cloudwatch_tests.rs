//! `put_metric_batch` against wiremock speaking CloudWatch's rpc-v2-cbor
//! (`POST /service/GraniteServiceVersion20100801/operation/PutMetricData`; an empty 200 is a
//! valid reply). Bodies are read as CloudWatch would: gunzipped when the SDK compressed them
//! (it gzips `PutMetricData` bodies of 10 KiB and more by default), then decoded.

use std::io::Read;

use ciborium::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::aws::{Connection, ErrorKind, sdk_config};

const PUT: &str = "/service/GraniteServiceVersion20100801/operation/PutMetricData";

async fn cloudwatch(server: &MockServer) -> CloudWatch {
    let conn = Connection::fake(&server.uri());
    CloudWatch::new(&sdk_config(&conn).await)
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).insert_header("smithy-protocol", "rpc-v2-cbor")
}

/// `n` values, value `i` of service `svc{i}`, with `extra` further dimensions of `width`-long
/// values.
fn data(n: usize, extra: usize, width: usize) -> Vec<(Vec<(String, String)>, Published)> {
    (0..n)
        .map(|i| {
            let mut dims =
                vec![("Cluster".to_owned(), "prod".to_owned()), ("Service".to_owned(), format!("svc{i}"))];
            dims.extend((0..extra).map(|d| (format!("Dim{d}"), "x".repeat(width))));
            (dims, Published { name: "DesiredCount", value: i as f64, count: true })
        })
        .collect()
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_765_000_000, 0).unwrap()
}

fn field<'a>(v: &'a Value, name: &str) -> &'a Value {
    let map = v.as_map().unwrap_or_else(|| panic!("not a map: {v:?}"));
    map.iter().find(|(k, _)| k.as_text() == Some(name)).map(|(_, v)| v).unwrap_or_else(|| panic!("no {name}"))
}

/// Each `PutMetricData` received: its uncompressed body's length and its decoded body.
async fn puts(server: &MockServer) -> Vec<(usize, Value)> {
    let mut out = Vec::new();
    for r in server.received_requests().await.unwrap_or_default() {
        let gzip = r.headers.get("content-encoding").is_some_and(|e| e.to_str().unwrap().contains("gzip"));
        let body = if gzip {
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(r.body.as_slice()).read_to_end(&mut raw).unwrap();
            raw
        } else {
            r.body.clone()
        };
        out.push((body.len(), ciborium::de::from_reader(body.as_slice()).unwrap()));
    }
    out
}

/// The `Service` dimension of every datum of `body`, in order.
fn services(body: &Value) -> Vec<String> {
    let data = field(body, "MetricData").as_array().unwrap();
    data.iter()
        .map(|d| {
            let dims = field(d, "Dimensions").as_array().unwrap();
            let service = dims.iter().find(|x| field(x, "Name").as_text() == Some("Service")).unwrap();
            field(service, "Value").as_text().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn batches_are_cut_at_1000_values_and_at_the_body_limit() {
    let lens = |d: &[(Vec<(String, String)>, Published)]| -> Vec<usize> {
        batches("Trimtab", d).iter().map(|r| r.len()).collect()
    };
    assert_eq!(lens(&data(2_500, 0, 0)), [1_000, 1_000, 500]);
    assert_eq!(lens(&data(1_000, 0, 0)), [1_000]);
    assert_eq!(lens(&data(1_001, 0, 0)), [1_000, 1]);
    assert!(lens(&[]).is_empty());

    // 30 dimensions of 1,024-character values (CloudWatch's most): about 31 KB a value.
    let big = data(200, 28, 1_024);
    let cut = batches("Trimtab", &big);
    assert!(cut.len() > 1 && cut.iter().all(|r| r.len() < MAX_DATUMS), "{cut:?}");
    assert_eq!(cut.first().map(|r| r.start), Some(0));
    assert_eq!(cut.last().map(|r| r.end), Some(200));
    for pair in cut.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "consecutive, nothing lost");
    }
    for r in &cut {
        let bytes: usize = big[r.clone()].iter().map(|(d, p)| datum_size(d, p)).sum();
        assert!(bytes <= MAX_BODY - BODY_RESERVE, "{r:?}: {bytes} bytes");
    }
}

#[tokio::test]
async fn put_metric_batch_sends_2500_values_in_3_calls_each_with_its_own_dimensions() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(PUT)).respond_with(ok()).mount(&server).await;
    let values = data(2_500, 0, 0);
    let calls = cloudwatch(&server).await.put_metric_batch("Trimtab", &values, now()).await;
    assert_eq!(calls, Ok(3));

    let puts = puts(&server).await;
    let counts: Vec<usize> =
        puts.iter().map(|(_, b)| field(b, "MetricData").as_array().unwrap().len()).collect();
    assert_eq!(counts, [1_000, 1_000, 500]);
    let all: Vec<String> = puts.iter().flat_map(|(_, b)| services(b)).collect();
    let want: Vec<String> = (0..2_500).map(|i| format!("svc{i}")).collect();
    assert_eq!(all, want, "every value once, in order, with its own dimensions");
    let first = &field(&puts[0].1, "MetricData").as_array().unwrap()[7];
    assert_eq!(field(&puts[0].1, "Namespace").as_text(), Some("Trimtab"));
    assert_eq!(field(first, "MetricName").as_text(), Some("DesiredCount"));
    assert_eq!(field(first, "Value").as_float(), Some(7.0));
    assert_eq!(field(first, "Unit").as_text(), Some("Count"));
}

#[tokio::test]
async fn the_bodies_the_sdk_sends_stay_within_the_estimate_and_the_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(PUT)).respond_with(ok()).mount(&server).await;
    let values = data(120, 28, 1_024);
    let calls = cloudwatch(&server).await.put_metric_batch("Trimtab", &values, now()).await.unwrap();
    let puts = puts(&server).await;
    assert_eq!(puts.len(), calls);
    assert!(calls > 1, "{calls}");
    let mut next = 0;
    for (len, body) in &puts {
        let n = field(body, "MetricData").as_array().unwrap().len();
        let estimate: usize = values[next..next + n].iter().map(|(d, p)| datum_size(d, p)).sum();
        assert!(*len <= estimate + BODY_RESERVE, "{len} bytes sent, {estimate} estimated");
        assert!(*len <= MAX_BODY, "{len} bytes");
        next += n;
    }
    assert_eq!(next, 120);
}

#[tokio::test]
async fn nothing_to_publish_is_no_call_and_a_failed_call_stops_the_batch() {
    let server = MockServer::start().await;
    assert_eq!(cloudwatch(&server).await.put_metric_batch("Trimtab", &[], now()).await, Ok(0));
    assert!(server.received_requests().await.unwrap().is_empty());

    Mock::given(method("POST"))
        .and(path(PUT))
        .respond_with(ok())
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let failing = ResponseTemplate::new(500)
        .insert_header("smithy-protocol", "rpc-v2-cbor")
        .insert_header("x-amzn-query-error", "InternalServiceError;Receiver");
    Mock::given(method("POST")).and(path(PUT)).respond_with(failing).with_priority(2).mount(&server).await;
    let e =
        cloudwatch(&server).await.put_metric_batch("Trimtab", &data(2_500, 0, 0), now()).await.unwrap_err();
    assert_eq!((e.operation, e.kind), ("cloudwatch:PutMetricData", ErrorKind::Server));
    assert_eq!(puts(&server).await.len(), 2, "the third batch is not sent");
}
