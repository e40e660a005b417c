#pragma once

namespace exitscope::widgets {
class ElasticPanel;
class SplitPanel;
}

namespace exitscope::app {

class MainWindow;

/// Registers the split panel's conditions (device, server, bandwidth, RTT,
/// goal) and the elastic panel's settings as parts of the autosaved session
/// (MainWindow::addSessionPart), saved whenever they change.
void addPanelSessionParts(MainWindow& window, widgets::SplitPanel* split, widgets::ElasticPanel* elastic);

} // namespace exitscope::app
