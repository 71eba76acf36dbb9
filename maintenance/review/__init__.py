"""The monthly service review (plan-do-check-act): figures, improvement actions, surveys."""
