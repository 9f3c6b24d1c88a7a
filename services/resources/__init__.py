"""Resources: the registry of people who offer time and competence."""
