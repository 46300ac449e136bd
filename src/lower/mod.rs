//! Program + stage graph -> a backend-neutral [`BuildPlan`]. (To be written.)
