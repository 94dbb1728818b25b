// Launch settings shared by the kernels' launchers. Host-only declarations.
#ifndef TERN_KERNELS_LAUNCH_H_
#define TERN_KERNELS_LAUNCH_H_

namespace tern::kernels {

// Process-wide: whether the launchers of the forward pass's kernels use
// programmatic dependent launch (each kernel may start while the previous one
// finishes; see GridDependencyWait in ptx.cuh). On by default; switching it
// off is for measuring what it buys. Takes effect for launches (and graph
// captures) after the call. Thread-safe.
void SetProgrammaticLaunch(bool enabled);
bool ProgrammaticLaunchEnabled();

// Streaming multiprocessors of the current device (cached per device; 1 if
// the query fails).
int CurrentDeviceSmCount();

}  // namespace tern::kernels

#endif  // TERN_KERNELS_LAUNCH_H_
