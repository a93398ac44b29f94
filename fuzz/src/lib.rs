//! Helpers shared by trimtab's fuzz targets (`fuzz_targets/`): stepping over defects already
//! being fixed ([`known`]) and building decision inputs from fuzz bytes ([`decide_input`]).

pub mod decide_input;
pub mod known;
