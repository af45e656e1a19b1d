"""One tenant's pass, one module per step: sync → link → sentiment → score → write-back → events."""
