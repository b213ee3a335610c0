"""How a prediction splits over a recipe's ingredients: Integrated Gradients, Shapley values and
interactions, under one definition of what an absent ingredient is."""
