//! What each service a controller scales costs: the size, platform and storage of its task
//! definition (read once per revision), how the service places its tasks (launch type or
//! capacity provider strategy), and the shipped Fargate prices of the region. Pure.

use crate::aws::{ServiceState, TaskDefinitionInfo};
use crate::config::model::{CostConfig, LaunchType};
use crate::core::cost::pricing::{Arch, Os, Rate, TaskShape, Used};

/// One task of the service, as it is billed.
pub fn shape(state: &ServiceState, td: &TaskDefinitionInfo) -> Result<TaskShape, String> {
    let launch = placement(state)?;
    let (Some(cpu), Some(memory)) = (td.cpu, td.memory) else {
        return Err(format!("task definition {} has no task-level CPU and memory", td.arn));
    };
    Ok(TaskShape {
        launch,
        arch: if td.arch.as_deref() == Some("ARM64") { Arch::Arm64 } else { Arch::X86_64 },
        os: if td.os.as_deref().is_some_and(|o| o.starts_with("WINDOWS")) { Os::Windows } else { Os::Linux },
        cpu,
        memory,
        storage_gib: td.storage_gib.unwrap_or(crate::core::cost::pricing::FREE_STORAGE_GIB),
    })
}

/// How the service's tasks are billed: Fargate or Fargate Spot; why not, for anything else (its
/// task definition is then not worth reading).
pub fn placement(state: &ServiceState) -> Result<LaunchType, String> {
    let spot = |p: &str| p == "FARGATE_SPOT";
    let on_fargate = |p: &str| p == "FARGATE" || spot(p);
    match (state.launch_type.as_deref(), state.capacity.as_slice()) {
        (Some("FARGATE"), _) => Ok(LaunchType::Fargate),
        (Some(other), _) => Err(format!("runs on {other}: a controller prices Fargate services only")),
        (None, providers) if !providers.is_empty() && providers.iter().all(|(p, _)| on_fargate(p)) => {
            // All weight on Spot is Spot; a mix is priced on demand (the estimate errs high).
            let weight = |f: &dyn Fn(&str) -> bool| {
                providers.iter().filter(|(p, _)| f(p)).map(|(_, w)| w).sum::<i32>()
            };
            if weight(&|p| spot(p)) > 0 && weight(&|p| !spot(p)) == 0 {
                Ok(LaunchType::FargateSpot)
            } else {
                Ok(LaunchType::Fargate)
            }
        }
        (None, _) => {
            Err("its capacity providers are not Fargate's: a controller prices Fargate services only".into())
        }
    }
}

/// One task's price per hour in `region`, from the shipped tables.
pub fn task_rate(region: &str, t: &TaskShape) -> Result<Rate, String> {
    let sheet =
        crate::config::price_sheet(&t.platform(), &CostConfig::default(), region).map_err(|(_, why)| why)?;
    Ok(sheet.task_rate(t, Used::default()).total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(launch: Option<&str>, capacity: &[(&str, i32)]) -> ServiceState {
        ServiceState {
            task_definition: None,
            status: "ACTIVE".into(),
            launch_type: launch.map(Into::into),
            capacity: capacity.iter().map(|(p, w)| ((*p).to_owned(), *w)).collect(),
            desired: 2,
            running: 2,
            pending: 0,
            deployments: vec![],
            events: vec![],
            tags: Default::default(),
        }
    }

    fn td(arch: Option<&str>, os: Option<&str>) -> TaskDefinitionInfo {
        TaskDefinitionInfo {
            arn: "arn:aws:ecs:us-east-1:1:task-definition/web:3".into(),
            family: "web".into(),
            revision: 3,
            registered_at: None,
            resized_by_trimtab: false,
            cpu: Some(1024),
            memory: Some(2048),
            containers: vec![],
            arch: arch.map(Into::into),
            os: os.map(Into::into),
            storage_gib: None,
        }
    }

    #[test]
    fn a_services_task_is_priced_from_its_task_definition_and_placement() {
        let plain = shape(&state(Some("FARGATE"), &[]), &td(None, None)).unwrap();
        assert_eq!(
            (plain.launch, plain.arch, plain.os, plain.storage_gib),
            (LaunchType::Fargate, Arch::X86_64, Os::Linux, 20)
        );
        // us-east-1 Linux/x86: 1 vCPU × $0.04048 + 2 GB × $0.004445 = $0.04937 an hour.
        assert_eq!(task_rate("us-east-1", &plain).unwrap().as_usd(), 0.04937);
        let spot = shape(&state(None, &[("FARGATE_SPOT", 1)]), &td(Some("ARM64"), None)).unwrap();
        assert_eq!((spot.launch, spot.arch), (LaunchType::FargateSpot, Arch::Arm64));
        let mixed = shape(&state(None, &[("FARGATE", 1), ("FARGATE_SPOT", 3)]), &td(None, None)).unwrap();
        assert_eq!(mixed.launch, LaunchType::Fargate, "a mix is priced on demand");
        let windows =
            shape(&state(Some("FARGATE"), &[]), &td(None, Some("WINDOWS_SERVER_2022_CORE"))).unwrap();
        assert_eq!(windows.os, Os::Windows);
        assert_eq!(
            shape(&state(Some("EC2"), &[]), &td(None, None)).unwrap_err(),
            "runs on EC2: a controller prices Fargate services only"
        );
        assert!(shape(&state(None, &[("my-asg", 1)]), &td(None, None)).is_err());
        assert!(task_rate("xx-nowhere-1", &plain).is_err());
    }
}
