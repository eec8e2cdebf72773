DROP TABLE pin_resets;
