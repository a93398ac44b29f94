//! The valid Fargate task sizes (CPU units → memory MiB), from the AWS Fargate documentation as
//! recorded in `shared/pricing/README.md`: 74 pairs.

/// `(cpu, memory_from, memory_to, step)` rows, memory in MiB.
const ROWS: [(u32, u32, u32, u32); 7] = [
    (256, 512, 2048, 0),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Memory sizes (MiB) Fargate accepts for `cpu` units; empty for an invalid CPU value.
pub fn memory_options(cpu: u32) -> Vec<u32> {
    ROWS.iter()
        .filter(|r| r.0 == cpu)
        .flat_map(|&(_, from, to, step)| match step {
            0 => vec![512, 1024, 2048],
            _ => (from..=to).step_by(step as usize).collect(),
        })
        .collect()
}

/// Every valid `(cpu, memory)` pair, smallest first.
pub fn sizes() -> Vec<(u32, u32)> {
    ROWS.iter().flat_map(|r| memory_options(r.0).into_iter().map(move |m| (r.0, m))).collect()
}

pub fn is_valid(cpu: u32, memory: u32) -> bool {
    memory_options(cpu).contains(&memory)
}

/// The CPU values Fargate accepts.
pub fn cpu_options() -> impl Iterator<Item = u32> {
    ROWS.iter().map(|r| r.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_the_documented_74_pairs() {
        assert_eq!(sizes().len(), 74);
        assert!(is_valid(512, 1024) && is_valid(256, 2048) && is_valid(16384, 122880));
        assert!(
            !is_valid(256, 4096) && !is_valid(512, 512) && !is_valid(8192, 18432) && !is_valid(300, 1024)
        );
    }
}
