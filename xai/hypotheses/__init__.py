"""Named, testable statements about the representations, each with a statistic and a verdict."""
