"""web: every page a person sees, as a backend-for-frontend over the four services' JSON APIs."""
