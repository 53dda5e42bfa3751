"""Training side of srlive: data preparation, model, losses, training loop, sampling, metrics,
evaluation. Needs the `train` extra (torch, music21, pretty_midi, matplotlib, tqdm)."""
