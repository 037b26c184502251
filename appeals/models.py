"""Appeals against complaint outcomes (see SPEC.md, "Appeal"); built in the appeals issue."""
