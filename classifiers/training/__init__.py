"""Training the classifier (torch, the `train` extra): the offline encoder rebuild and fine-tuning."""
