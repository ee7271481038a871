"""The application layer and composition root of the SEND top-up funding engine."""
