package web

// registerPages adds the change review's pages.
func (h *changesHandlers) registerPages(mux *recordingMux) {}
