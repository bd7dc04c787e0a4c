"""Who the population is: views of customers and segments over the engine's state, and the Mesa adapter."""
