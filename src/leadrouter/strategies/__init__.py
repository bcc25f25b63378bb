"""The strategies: one module each, with `base` (the `Strategy` protocol, `Pick`,
`StrategyTags`) and `weighted` / `_deficits` (the deficit engine the weighted ones share)."""
