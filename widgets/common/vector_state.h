#pragma once

namespace exitscope::widgets {

/// Clears the upper halves of the AVX registers (vzeroupper) on x86-64 CPUs
/// that have AVX; does nothing elsewhere. Some Qt code leaves them dirty on
/// the GUI thread, after which every SSE instruction of core's maths (exp
/// and log in the calibration fit, say) pays a state-transition penalty:
/// measured 20x slower temperature fitting (450 ms instead of 21 ms) after
/// constructing a QApplication. Call before long computations on a thread
/// that runs Qt code.
void clearUpperVectorState();

} // namespace exitscope::widgets
