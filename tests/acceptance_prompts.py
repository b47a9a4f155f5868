"""The acceptance prompts of the create issue (AniDream's gallery and PoseAnimeFlow's jogger),
shared by the parser, character and export tests."""

GALLERY = {
    "pirate": "an anime pirate in a blue and gold coat",
    "glasses": "an anime boy with glasses",
    "kimono": "an anime girl in a kimono",
    "hoodie": "an anime boy in a hoodie",
    "jersey": "an anime girl in a sports jersey",
    "witch": "an anime witch with pointy hat",
    "jogger": ("young anime girl with long brown hair tied in a high ponytail, wearing a light blue sports "
               "outfit with white sneakers, jogging"),
}
