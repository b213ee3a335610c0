"""What the embedding tables learned: distances, clusters, agreement with expert groups,
substitution experiments and learning dynamics."""
