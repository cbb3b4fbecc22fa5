GREETING = "Greetings"
