use super::*;

/// The configured size percentages are of.
const SIZE: Size = Size { cpu: 1024, memory: 2048 };

fn read(text: &str) -> Result<Vec<Sample>, String> {
    read_csv("w.csv", text, SIZE).map_err(|e| e.to_string())
}

fn at(epoch: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch, 0).unwrap()
}

fn sample(t: i64, cpu: Option<f64>, memory: Option<f64>, oom: bool) -> Sample {
    Sample { at: at(t), cpu, memory, oom }
}

#[test]
fn units_with_rfc3339_times() {
    let s = read(
        "timestamp,cpu_units,memory_mib\n2023-11-14T22:13:20Z,100,600\n2023-11-15T00:18:20+02:00,120.5,610\n",
    )
    .unwrap();
    assert_eq!(
        s,
        vec![
            sample(1_700_000_000, Some(100.0), Some(600.0), false),
            sample(1_700_000_300, Some(120.5), Some(610.0), false)
        ]
    );
}

#[test]
fn percentages_of_the_configured_size_with_epoch_times_in_any_column_order() {
    let s = read("memory_pct, CPU_PCT ,timestamp\r\n50,25,1700000000\r\n").unwrap();
    assert_eq!(s, vec![sample(1_700_000_000, Some(256.0), Some(1024.0), false)]);
}

#[test]
fn empty_cells_and_empty_rows_are_skipped() {
    let s = read("timestamp,cpu_units,memory_mib\n1700000000,,600\n,,\n\n1700000300,100,\n").unwrap();
    assert_eq!(
        s,
        vec![
            sample(1_700_000_000, None, Some(600.0), false),
            sample(1_700_000_300, Some(100.0), None, false)
        ]
    );
    assert_eq!(read("timestamp,cpu_units,memory_mib\n").unwrap(), vec![]);
}

#[test]
fn oom_rows_record_a_kill_at_that_rows_memory() {
    let text = "timestamp,cpu_units,memory_mib,oom\n1700000000,100,800,0\n1700000300,100,900,1\n1700000600,100,700,\n";
    let s = read(text).unwrap();
    assert_eq!(s.iter().map(|s| s.oom).collect::<Vec<_>>(), vec![false, true, false]);
    let oom = estimate(&s).last_oom().unwrap();
    assert_eq!((oom.at, oom.used, oom.recorded, oom.count), (at(1_700_000_300), 900.0, 1080.0, 1));
}

#[test]
fn every_error_names_file_line_and_column() {
    let h = "timestamp,cpu_units,memory_mib";
    let cases = [
        (
            "timestamp,cpu_units,memory_mib,disk\n",
            "w.csv:1: disk: unknown column; expected timestamp, cpu_units, cpu_pct, memory_mib, memory_pct, oom",
        ),
        ("cpu_units,memory_mib\n", "w.csv:1: timestamp: missing column: every row needs its time"),
        ("timestamp,memory_mib\n", "w.csv:1: cpu: missing column: give cpu_units or cpu_pct"),
        ("timestamp,cpu_pct\n", "w.csv:1: memory: missing column: give memory_mib or memory_pct"),
        ("timestamp,cpu_pct,cpu_units,memory_mib\n", "w.csv:1: cpu: give one of its columns, not both"),
        ("timestamp,cpu_pct,cpu_pct,memory_mib\n", "w.csv:1: cpu_pct: column given twice"),
        ("", "w.csv:1: header: no header row, e.g. timestamp,cpu_units,memory_mib"),
        (&format!("{h}\n1700000000,1,1\n1700000300,abc,1\n"), "w.csv:3: cpu_units: \"abc\" is not a number"),
        (&format!("{h}\n1700000000,1,NaN\n"), "w.csv:2: memory_mib: \"NaN\" is not a number"),
        (&format!("{h}\n1700000000,1,-5\n"), "w.csv:2: memory_mib: negative value -5"),
        (
            &format!("{h}\nyesterday,1,1\n"),
            "w.csv:2: timestamp: \"yesterday\" is not an RFC 3339 time or Unix seconds",
        ),
        (&format!("{h}\n,1,1\n"), "w.csv:2: timestamp: empty: every row with values needs its time"),
        (&format!("{h}\n1700000000,1\n"), "w.csv:2: row: 2 fields, but the header has 3 columns"),
        (
            &format!("{h}\n1700000300,1,1\n1700000000,1,1\n"),
            "w.csv:3: timestamp: 2023-11-14 22:13:20 UTC is before the previous row's 2023-11-14 22:18:20 UTC",
        ),
        (
            "timestamp,cpu_units,memory_mib,oom\n1700000000,1,1,yes\n",
            "w.csv:2: oom: \"yes\": expected 1 (an OOM kill) or 0",
        ),
        (
            "timestamp,cpu_units,memory_mib,oom\n1700000000,1,,1\n",
            "w.csv:2: oom: an OOM row needs the memory in use at the kill",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(read(text).unwrap_err(), want, "{text:?}");
    }
}

#[test]
fn equal_timestamps_are_not_going_backwards() {
    assert_eq!(read("timestamp,cpu_units,memory_mib\n1700000000,1,1\n1700000000,2,2\n").unwrap().len(), 2);
}

#[test]
fn cloudwatch_series_merge_by_time_oldest_first_in_percent_of_the_size() {
    let mut data = BTreeMap::new();
    data.insert("cpu".to_owned(), vec![(at(600), 50.0), (at(300), 25.0)]);
    data.insert("memory".to_owned(), vec![(at(600), 10.0), (at(0), 100.0)]);
    assert_eq!(
        from_cloudwatch(&data, SIZE),
        vec![
            sample(0, None, Some(2048.0), false),
            sample(300, Some(256.0), None, false),
            sample(600, Some(512.0), Some(204.8), false)
        ]
    );
    let q = queries(&crate::config::from_str("t", super::super::EMBEDDED_EXAMPLE).unwrap().service.unwrap());
    assert!(
        q.iter().all(|q| q.statistic == "Maximum" && q.period_seconds == 300 && q.namespace == "AWS/ECS")
    );
}
